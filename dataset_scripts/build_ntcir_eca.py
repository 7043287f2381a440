"""Build the NTCIR-13 ECA / Gui et al. (2016) span-level emotion-cause corpus into the canonical hf_ecpe schema.

Usage: python dataset_scripts/build_ntcir_eca.py --data_dir PATH --output_dir out/ntcir_eca
       [--config zh|en] [--push_to_hub REPO] [--strict]
(``--data_dir`` is the data root holding ``ntcir-eca/``, as for scripts.train/evaluate; default $HF_ECPE_DATA;
``--corpus_dir PATH/ntcir-eca`` names the corpus folder itself.)

EmotionML-style XML, one <emotion> (keyword span, category, cause spans) per document; looks for
ECA_training_{Chinese,English}.xml / cause_emotion_{chi,eng}_test.xml (or emotion_cause_{chinese,english}_
{train,test}.xml), else the folder's single *.xml file as train. Offsets in the corpus can be off by 1-2 characters:
the default build relocates spans by their text and reports each repair (``--strict`` refuses them).

Licence: research use only (HITSZ Emotion Cause Dataset License Agreement, signed agreement required, no
redistribution). The corpus is not distributed with hf_ecpe; never push the built data to a public repository.
"""

from hf_ecpe.data.build_cli import main

if __name__ == "__main__":
    main("ntcir_eca")
