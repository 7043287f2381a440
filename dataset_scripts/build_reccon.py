"""Build RECCON (emotion cause in conversations) into the canonical hf_ecpe schema.

Usage: python dataset_scripts/build_reccon.py --data_dir ../shared/data/reccon --output_dir out/reccon
       [--config dailydialog|iemocap] [--lenient] [--push_to_hub REPO]

RECCON (Poria et al., 2021) annotates DailyDialog and IEMOCAP dialogues with the utterances and text spans that
cause each emotion (``data/original_annotation/*.json`` of declare-lab/RECCON). ``--lenient`` repairs the two
``excited`` labels of DailyDialog train to ``happiness``; every normalisation is printed.

Licence: research only. DailyDialog text is CC BY-NC-SA 4.0 and IEMOCAP text is under the USC SAIL agreement; do not
push the built dataset to a public repository.
"""

from hf_ecpe.data.build_cli import main

if __name__ == "__main__":
    main("reccon")
