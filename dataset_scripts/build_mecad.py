"""Build MECAD (Chinese multimodal emotion-cause conversations) into the canonical hf_ecpe schema.

Usage: python dataset_scripts/build_mecad.py --data_dir ../shared/data --output_dir out/mecad
       [--strict] [--push_to_hub REPO]
(``--data_dir`` is the data root holding ``mecad/``, as for scripts.train/evaluate; default $HF_ECPE_DATA;
``--corpus_dir ../shared/data/mecad`` names the corpus folder itself.)

MECAD (Liang et al., Findings of ACL 2025; redifinition/M3HG ``data/MECAD/*_data_pair.json``) has Chinese TV-series
conversations with utterance emotions, cause utterances and a cause type per emotion utterance (column
``cause_types``). Only the text is converted; video and audio are not.

Licence: research only (no licence file; text from Chinese TV series via M3ED). Ask the authors before
redistributing; do not push the built dataset to a public repository.
"""

from hf_ecpe.data.build_cli import main

if __name__ == "__main__":
    main("mecad")
