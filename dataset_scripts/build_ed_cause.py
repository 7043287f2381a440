"""Build ED-cause (EmpatheticDialogues with emotion-cause utterances) into the canonical hf_ecpe schema.

Usage: python dataset_scripts/build_ed_cause.py --data_dir ../shared/data --output_dir out/ed_cause
       [--strict] [--push_to_hub REPO]
(``--data_dir`` is the data root holding ``empdialogue-recec/``, as for scripts.train/evaluate; default $HF_ECPE_DATA;
``--corpus_dir ../shared/data/empdialogue-recec`` names the corpus folder itself.)

EmpatheticDialogues (Rashkin et al., 2019) conversations, lower-cased and tokenised, with the 32-way conversation
emotion and the cause utterances predicted by a RECCON-trained detector (silver labels) released by Gao et al.
(2021) in A-Rain/EmpDialogue_RecEC ``Data/*_with_cause.json``.

Licence: EmpatheticDialogues is CC BY-NC 4.0 (non-commercial use only); keep the built dataset non-commercial.
"""

from hf_ecpe.data.build_cli import main

if __name__ == "__main__":
    main("ed_cause")
