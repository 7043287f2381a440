"""Build the Chinese ECPE corpus (Xia & Ding, ACL 2019) into the canonical hf_ecpe schema.

Usage: python dataset_scripts/build_ecpe_zh.py --data_dir ../shared/data --output_dir out/ecpe_zh
       [--config fold1 | --all_configs] [--splits train test] [--strict] [--push_to_hub REPO]
(``--data_dir`` is the data root holding ``ecpe-zh/``, as for scripts.train/evaluate; default $HF_ECPE_DATA;
``--corpus_dir ../shared/data/ecpe-zh`` names the corpus folder itself.)

1,945 SINA news documents split into clauses, with clause-level emotion-cause pairs; reads NUSTM/ECPE
``nustm-ecpe/data_combine/all_data_pair.txt`` and ``fold{1..10}_test.txt``. Config foldk: test = fold k,
validation = fold k+1's test documents (its file must exist), train = the rest (train + validation = the published
training set; ``--splits train test`` trains on the whole complement).
Clauses are re-joined into raw Chinese text (the corpus is word-segmented with spaces).

Licence: research use only (HITSZ Emotion Cause Dataset License Agreement, no redistribution). Never push the
built data to a public repository.
"""

from hf_ecpe.data.build_cli import main

if __name__ == "__main__":
    main("ecpe_zh")
