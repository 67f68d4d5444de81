"""Generate IFEval agreement cases and their verdicts from the REFERENCE implementation.

Run with the reference installed (lm-evaluation-harness ``lm_eval/tasks/ifeval``,
ported from google-research ``instruction_following_eval``) and NLTK's English
``punkt_tab`` on ``NLTK_DATA``; see README.md beside this file. This script does
not import pytest_llmbench: the verdicts come only from the reference.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import langdetect
from lm_eval.tasks.ifeval import utils

langdetect.DetectorFactory.seed = 0  # the reference leaves it unseeded; we seed both sides

SENTENCES = [
    "i like tea. i also like coffee.", "Dr. Smith went home. He was tired.",
    "The U.S.A. is large. It has fifty states.", "We met at 3 p.m. on Jan. 5th and talked.",
    "Is this right? Yes! It is.", "e.g. this one. i.e. that one.", "Mr. and Mrs. Jones left at 5 p.m.",
    "The price rose 3.5% in 2023. Analysts were surprised...", "Wait... what? No way.",
    "He said \"stop.\" Then he left.", "NASA's probe reached Mars. DON'T panic.",
    "Prof. Lee teaches at St. Mary's. She is kind.", "it works. it really works. ok.",
    "Visit example.com. It is free.", "The Ph.D. student wrote 2 papers. Both were accepted.",
    "THIS IS LOUD. REALLY LOUD.", "a b c. d e f", "Numbers: 1. First 2. Second 3. Third.",
    "Hello world", "One sentence without a period", "Co. Ltd. Inc. are suffixes. Fine.",
    "I.B.M. and A.T.&T. merged? Not really.", "The well-known state-of-the-art model won.",
    "Coffee, tea, and water are drinks.", "What a day!!! Truly.", "(This is a note.) Next.",
]
WORDS = ["potato", "brush", "region", "coffee", "tea", "Mars", "data", "model", "world", "film"]
PARAGRAPHS = [" ".join(random.Random(i).sample(SENTENCES, 2)) for i in range(20)]
FOREIGN = {
    "fr": "Bonjour, je suis très content de vous voir aujourd'hui. Nous allons au marché.",
    "de": "Guten Tag, ich freue mich sehr, Sie heute zu sehen. Wir gehen zum Markt.",
    "es": "Hola, estoy muy contento de verte hoy. Vamos al mercado juntos.",
    "it": "Ciao, sono molto contento di vederti oggi. Andiamo al mercato insieme.",
    "en": "Hello, I am very happy to see you today. We are going to the market together.",
}


PREFER = {"length_constraints:number_paragraphs": 1, "detectable_format:number_bullet_lists": 2,
          "detectable_format:number_highlighted_sections": 3, "detectable_content:postscript": 4,
          "detectable_format:multiple_sections": 5, "detectable_format:json_format": 6,
          "detectable_format:title": 7, "combination:two_responses": 8,
          "language:response_language": 9, "change_case:english_capital": 10,
          "change_case:english_lowercase": 11, "startend:quotation": 12,
          "detectable_content:number_placeholders": 13,
          "detectable_format:constrained_response": 14,
          "length_constraints:nth_paragraph_first_word": 0}


def response(rng: random.Random, prefer: int | None = None) -> str:
    kind = prefer if prefer is not None and rng.random() < 0.75 else rng.randrange(16)
    paras = rng.sample(PARAGRAPHS, rng.randint(1, 4))
    if kind == 0:
        return "\n\n".join(paras)
    if kind == 1:
        return "\n***\n".join(paras)
    if kind == 2:
        return "\n".join(f"{rng.choice('*-')} {p}" for p in paras)
    if kind == 3:
        return " ".join(f"*{p.split('.')[0]}*" if rng.random() < 0.5 else p for p in paras)
    if kind == 4:
        marker = rng.choice(["P.S.", "P.P.S", "p.s.", "PS:", "P. S.", "Note:"])
        return f"{paras[0]}\n\n{marker} {rng.choice(SENTENCES)}"
    if kind == 5:
        word = rng.choice(["Section", "SECTION", "PART", "Part"])
        return "\n".join(f"{word} {i + 1}\n{p}" for i, p in enumerate(paras))
    if kind == 6:
        body = json.dumps({"answer": paras[0], "n": len(paras)})
        return rng.choice([body, f"```json\n{body}\n```", f"```\n{body}\n```", body[:-1]])
    if kind == 7:
        return f"<<{rng.choice(['My Title', ' ', 'A poem'])}>>\n{paras[0]}"
    if kind == 8:
        return f"{paras[0]}\n******\n{rng.choice([paras[0], paras[-1] + ' extra'])}"
    if kind == 9:
        return rng.choice(list(FOREIGN.values()))
    if kind == 10:
        return " ".join(paras).upper()
    if kind == 11:
        return " ".join(paras).lower()
    if kind == 12:
        return f'"{paras[0]}"' if rng.random() < 0.7 else f'"{paras[0]}'
    if kind == 13:
        return f"{paras[0]} [name] and [address] {rng.choice(['', '[date]'])}"
    if kind == 14:
        return f"{paras[0]}\nMy answer is {rng.choice(['yes', 'no', 'maybe', 'perhaps'])}."
    return "**Intro**\n" + "\n".join(paras) + "\nIs there anything else I can help with?"


def instruction(kind: str, rng: random.Random, text: str) -> dict:
    rel = rng.choice(["less than", "at least"])
    if kind == "keywords:existence":
        present = [w for w in WORDS if w.lower() in text.lower()] or WORDS
        return {"keywords": rng.sample(present if rng.random() < 0.6 else WORDS, 1)
                + rng.sample(WORDS, rng.randint(0, 1))}
    if kind == "keywords:frequency":
        return {"keyword": rng.choice(WORDS + [" tea ", "coffee "]), "frequency": rng.randint(1, 3),
                "relation": rel}
    if kind == "keywords:forbidden_words":
        return {"forbidden_words": rng.sample(WORDS, 2)}
    if kind == "keywords:letter_frequency":
        return {"letter": rng.choice("aetozAE"),  # a padded letter is random in the reference
                "let_frequency": rng.randint(1, 40), "let_relation": rel}
    if kind == "language:response_language":
        return {"language": rng.choice(list(FOREIGN))}
    if kind == "length_constraints:number_sentences":
        return {"num_sentences": rng.randint(1, 12), "relation": rel}
    if kind == "length_constraints:number_paragraphs":
        return {"num_paragraphs": rng.randint(1, 4)}
    if kind == "length_constraints:number_words":
        return {"num_words": rng.randint(5, 80), "relation": rel}
    if kind == "length_constraints:nth_paragraph_first_word":
        paras = [p for p in text.split("\n\n") if p.strip()]
        n = rng.randint(1, 3)
        word = paras[n - 1].split()[0].strip("\"'.,?!*").lower() if len(paras) >= n and rng.random() < 0.7 \
            else rng.choice(WORDS)
        return {"num_paragraphs": rng.randint(max(1, len(paras) - 1), len(paras) + 1),
                "nth_paragraph": n, "first_word": word}
    if kind == "detectable_content:number_placeholders":
        return {"num_placeholders": rng.randint(1, 3)}
    if kind == "detectable_content:postscript":
        return {"postscript_marker": rng.choice(["P.S.", "P.P.S", " P.S. ", "PS:", "Note:"])}
    if kind == "detectable_format:number_bullet_lists":
        return {"num_bullets": rng.randint(1, 4)}
    if kind == "detectable_format:number_highlighted_sections":
        return {"num_highlights": rng.randint(1, 3)}
    if kind == "detectable_format:multiple_sections":
        return {"section_spliter": rng.choice(["Section", "SECTION", " PART ", "Part"]),
                "num_sections": rng.randint(1, 4)}
    if kind == "combination:repeat_prompt":
        start = text[: rng.randint(5, 30)]
        return {"prompt_to_repeat": rng.choice([start, start.upper(), "Write a poem"])}
    if kind == "startend:end_checker":
        tail = text.strip()[-rng.randint(3, 20):]
        return {"end_phrase": rng.choice([tail, " " + tail.upper() + " ", "Any other questions?"])}
    if kind == "change_case:capital_word_frequency":
        return {"capital_frequency": rng.randint(1, 10), "capital_relation": rel}
    return {}


KINDS = list(utils.instructions_registry.INSTRUCTION_DICT)


def main(out: str, count: int = 400) -> None:
    rng = random.Random(15)
    cases = []
    for index in range(count):
        first = KINDS[index % len(KINDS)]
        text = response(rng, PREFER.get(first))
        kinds = [first] + rng.sample(KINDS, rng.randint(0, 2))
        kinds = list(dict.fromkeys(kinds))
        kwargs = [instruction(k, rng, text) for k in kinds]
        inp = utils.InputExample(key=index, instruction_id_list=kinds, prompt="(prompt)", kwargs=kwargs)
        strict = utils.test_instruction_following_strict(inp, text).follow_instruction_list
        loose = utils.test_instruction_following_loose(inp, text).follow_instruction_list
        cases.append({"id": f"ref-{index}", "response": text, "instruction_id_list": kinds,
                      "kwargs": kwargs, "strict": strict, "loose": loose})
    Path(out).write_text(json.dumps({"reference": REFERENCE, "cases": cases}, indent=1) + "\n")


REFERENCE = ("EleutherAI/lm-evaluation-harness lm_eval/tasks/ifeval (port of google-research "
             "instruction_following_eval), nltk " + __import__("nltk").__version__
             + " with English punkt_tab, langdetect seed 0")

if __name__ == "__main__":
    main(sys.argv[1])
