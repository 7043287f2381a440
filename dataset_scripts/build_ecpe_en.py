"""Build the English ECPE corpus (Singh et al., WASSA 2021) into the canonical hf_ecpe schema.

Usage: python dataset_scripts/build_ecpe_en.py --data_dir ../shared/data --output_dir out/ecpe_en
       [--config fold1 | --all_configs] [--splits train validation test] [--strict] [--push_to_hub REPO]
(``--data_dir`` is the data root holding ``ecpe-en/``, as for scripts.train/evaluate; default $HF_ECPE_DATA;
``--corpus_dir ../shared/data/ecpe-en`` names the corpus folder itself.)

2,843 English documents (from the NTCIR-13 ECA English data) with clause-level emotion-cause pairs; reads
Aaditya-Singh/E2E-ECPE ``e2e-ecpe/data_combine_eng/fold{1..10}_{train,val,test}.txt``. Two emotion keywords do not
occur verbatim in their clause ('joyfull' in fold 1 train, 'Wonderful' in fold 1 test): the default build locates
them and reports both repairs; ``--strict`` stops at the first.

Licence: research use only (derived from NTCIR-13 ECA data, HITSZ Emotion Cause Dataset License Agreement, no
redistribution). Never push the built data to a public repository.
"""

from hf_ecpe.data.build_cli import main

if __name__ == "__main__":
    main("ecpe_en")
