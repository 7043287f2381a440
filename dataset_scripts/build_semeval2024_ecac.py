"""Build SemEval-2024 Task 3 (ECF 2.0, emotion cause analysis in conversations) into the canonical hf_ecpe schema.

Usage: python dataset_scripts/build_semeval2024_ecac.py --data_dir ../shared/data --output_dir
out/semeval2024_ecac [--config subtask1|subtask2] [--all_configs] [--push_to_hub REPO] [--strict]
(``--data_dir`` is the data root holding ``ecf2-semeval2024/``, as for scripts.train/evaluate; default $HF_ECPE_DATA;
``--corpus_dir ../shared/data/ecf2-semeval2024`` names the corpus folder itself.)

SemEval-2024 Task 3 (Wang et al., 2024; NUSTM/SemEval-2024_ECAC): reads data/Subtask_{1,2}_{train,trial,test}.json.
subtask1 gives causes as text spans (located as the official scorer does, stored as character offsets); subtask2
gives cause utterances (derived from the subtask-1 file, textual causes only, when Subtask_2_<split>.json is absent).

Licence: GPL-3.0 repository, data for research purposes only. Do not push the built data to a public repo.
"""

from hf_ecpe.data.build_cli import main

if __name__ == "__main__":
    main("semeval2024_ecac")
