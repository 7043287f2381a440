"""Build RECCON (emotion cause in conversations) into the canonical hf_ecpe schema.

Usage: python dataset_scripts/build_reccon.py --data_dir ../shared/data --output_dir out/reccon
       [--config dailydialog|iemocap | --all_configs] [--strict] [--push_to_hub REPO]
(``--data_dir`` is the data root holding ``reccon/``, as for scripts.train/evaluate; default $HF_ECPE_DATA;
``--corpus_dir ../shared/data/reccon`` names the corpus folder itself.)

RECCON (Poria et al., 2021) annotates DailyDialog and IEMOCAP dialogues with the utterances and text spans that
cause each emotion (``data/original_annotation/*.json`` of declare-lab/RECCON). The default build repairs the
two ``excited`` labels of DailyDialog train to ``happiness`` (``--strict`` keeps them); every normalisation is
printed. ``--all_configs`` builds the configs whose files exist (IEMOCAP is not public) and reports the others.

Licence: research only. DailyDialog text is CC BY-NC-SA 4.0 and IEMOCAP text is under the USC SAIL agreement; do not
push the built dataset to a public repository.
"""

from hf_ecpe.data.build_cli import main

if __name__ == "__main__":
    main("reccon")
