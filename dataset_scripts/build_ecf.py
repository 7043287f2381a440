"""Build ECF 1.0 (Emotion-Cause-in-Friends) into the canonical hf_ecpe schema.

Usage: python dataset_scripts/build_ecf.py --data_dir ../shared/data --output_dir out/ecf [--push_to_hub REPO] [--strict]
(``--data_dir`` is the data root holding ``ecf/``, as for scripts.train/evaluate; default $HF_ECPE_DATA;
``--corpus_dir ../shared/data/ecf`` names the corpus folder itself.)

ECF 1.0 (Wang et al., IEEE TAFFC 2023; NUSTM/MECPE): 1,374 Friends conversations (MELD-based) with utterance-level
emotion-cause pairs; reads data/{train,dev,test}.txt. Row ids are ECF conversation ids, so utterance k of row `id` is
`dia{id}utt{k+1}` in MECPE's video_id_mapping (audio/visual feature tables).

Licence: GPL-3.0 repository, research use only (Friends/MELD text). Do not push the built data to a public repo.
"""

from hf_ecpe.data.build_cli import main

if __name__ == "__main__":
    main("ecf")
