"""Run the embedded default model on a few example texts and print the emotion–cause pairs it finds.

    python -m hf_ecpe.scripts.demo [--text "..."] [--json]

Uses ``pipeline("emotion-cause")`` with no model argument: the model shipped inside the package
(``hf_ecpe.defaults.default_model_path()``; its card in ``model_cards/`` states the data, the licences and the
numbers). Works offline. The examples include neutral text, for which the right answer is "no pair".
"""

from __future__ import annotations

import argparse
import json

EXAMPLES: list = [
    "When my sister called to say that she had passed the bar exam, I was overjoyed, and we celebrated all night.",
    "The old farmer was devastated because the flood had destroyed his entire harvest, "
    "and he did not know how he would feed his family.",
    "She was furious that the airline had lost her luggage for the third time, so she wrote a long complaint.",
    {
        "utterances": ["I finally got the job I applied for!", "That is wonderful news, congratulations!"],
        "speakers": ["Ann", "Ben"],
    },
    {
        "utterances": [
            "Did you see that the train to Boston was cancelled again?",
            "Yes, and now I will miss my sister's wedding. I am so upset.",
            "Oh no, I am sorry. Can you rent a car?",
        ],
        "speakers": ["Ann", "Ben", "Ann"],
    },
    "Water boils at 100 degrees Celsius at sea level.",
    "Please send the invoice to the accounting department by Friday.",
]


def format_result(result: dict) -> str:
    lines = [f"  [{i}] {unit}" for i, unit in enumerate(result["units"])]
    if not result["pairs"]:
        lines.append("  no emotion-cause pair found")
    for pair in result["pairs"]:
        category = f"  {pair['category']} ({pair['category_score']:.2f})" if "category" in pair else ""
        lines.append(
            f"  pair: emotion [{pair['emotion_index']}] <- cause [{pair['cause_index']}]  score {pair['score']:.3f}"
            + category
        )
    for emotion in result["emotions"]:
        if not emotion["causes"]:
            lines.append(
                f"  emotion [{emotion['index']}] ({emotion['score']:.2f}) without a cause above the threshold"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--text", action="append", help="a document to analyse (repeatable); default: examples")
    parser.add_argument("--json", action="store_true", help="print the raw pipeline output as JSON")
    args = parser.parse_args(argv)

    import hf_ecpe

    extractor = hf_ecpe.pipeline("emotion-cause")
    inputs = args.text or EXAMPLES
    results = extractor(inputs, batch_size=4)
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
        return
    for number, result in enumerate(results, start=1):
        print(f"\nexample {number}:")
        print(format_result(result))


if __name__ == "__main__":
    main()
