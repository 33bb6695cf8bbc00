#!/usr/bin/env python3
"""A tiny T5-style SentencePiece model and the token ids the Java tokenizer must produce for it.

Run with Debian's Python (apt-get install python3-sentencepiece):  /usr/bin/python3 tools/reference/tokenizer_reference.py
Writes dit-model/src/test/resources/fixtures/tiny_spiece.model (unigram, 80 pieces, T5's special ids:
pad 0, eos 1, unk 2, no bos; nmt_nfkc normalisation, dummy prefix) and tiny_spiece_expected.json: for each
prompt the ids as PixArt tokenises them (lower-cased and stripped, SentencePiece ids, then </s>, truncated to
max_length keeping room for </s>, padded with 0 to max_length) and the mask (1 up to and including </s>).
"""
import io
import json
import os
import random

import sentencepiece as spm

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "dit-model", "src", "test", "resources", "fixtures")
WORDS = ("a photo of an astronaut riding a horse on the moon small cat sitting on red chair with blue sky and "
         "mountains in the background oil painting of sunset over the sea highly detailed portrait digital art").split()


def main():
    rnd = random.Random(0)
    corpus = [" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(4, 14))) for _ in range(3000)]
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(corpus), model_writer=model, vocab_size=80, model_type="unigram",
                                   pad_id=0, eos_id=1, unk_id=2, bos_id=-1, character_coverage=1.0, normalization_rule_name="nmt_nfkc")
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    with open(os.path.join(OUT, "tiny_spiece.model"), "wb") as f:
        f.write(model.getvalue())
    prompts = ["A photo of an astronaut riding a horse on the moon.", "  Small CAT,   sitting on a red chair  ", "",
               "ｆｕｌｌｗｉｄｔｈ ｃａｔ and café ﬁne", "zebra quokka xylophone", " ".join(["mountains"] * 200)]
    max_length = 120
    cases = []
    for p in prompts:
        ids = sp.encode(p.lower().strip())[: max_length - 1] + [1]
        mask = [1] * len(ids) + [0] * (max_length - len(ids))
        cases.append({"prompt": p, "ids": ids + [0] * (max_length - len(ids)), "mask": mask, "truncated": len(sp.encode(p.lower().strip())) > max_length - 1})
    json.dump({"max_length": max_length, "cases": cases}, open(os.path.join(OUT, "tiny_spiece_expected.json"), "w"), indent=1, ensure_ascii=False)
    print("wrote tiny_spiece.model and tiny_spiece_expected.json in", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
