package org.deltadit.dit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Compare;
import org.deltadit.engine.Tensor;
import org.deltadit.weights.CheckpointException;
import org.deltadit.weights.Safetensors;
import org.deltadit.weights.StateDict;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CLIP's tokenizer and transformers against tools/reference/clip_reference.py (a tiny CLIPModel folder). */
class ClipTest {
    static final Path FOLDER = Path.of("src/test/resources/fixtures/tiny_clip"), FIX = Path.of("src/test/resources/fixtures/clip.safetensors");
    static final String[] PROMPTS = {
        "a photo of a cat",
        "A PHOTO of  two   dogs, running!",
        "it's 3 o'clock &amp; we're late",
        "café crème brûlée 🍰 naïve",
        "the ".repeat(75) + "the end",
        "",
    };
    @TempDir Path dir;

    static int[][] ids(StateDict sd) {
        Tensor t = sd.tensor("ids");
        int[][] ids = new int[t.dim(0)][t.dim(1)];
        for (int i = 0; i < ids.length; i++) for (int k = 0; k < ids[i].length; k++) ids[i][k] = (int) t.get(i, k);
        return ids;
    }

    @Test
    void tokenizerGivesTheReferenceIdsIdForId() {
        ClipTokenizer tok = ClipTokenizer.open(FOLDER, 77);
        try (StateDict sd = Safetensors.open(FIX)) {
            int[][] want = ids(sd);
            for (int i = 0; i < PROMPTS.length; i++) assertArrayEquals(want[i], tok.encode(PROMPTS[i]), "prompt " + i + ": '" + PROMPTS[i] + "'");
        }
        assertTrue(tok.truncates(PROMPTS[4]));
        assertTrue(!tok.truncates(PROMPTS[0]));
        assertEquals("a & b", ClipTokenizer.clean("  A &amp;amp;   B\t"), "entities unescaped twice, spaces collapsed, lower case");
    }

    @Test
    void textAndVisionMatchPyTorch() {
        try (StateDict sd = Safetensors.open(FIX)) {
            int[][] ids = ids(sd);
            for (Backend be : TestBackends.all()) {
                ClipModel clip = ClipModel.open(FOLDER, be);
                ClipModel.TextOutput t = clip.encodeText(ids, ClipTokenizer.open(FOLDER, 77).eosId());
                close(sd.tensor("text_last"), t.last(), be.name() + " last");
                close(sd.tensor("text_penultimate"), t.penultimate(), be.name() + " penultimate");
                close(sd.tensor("text_pooled"), t.pooled(), be.name() + " pooled");
                close(sd.tensor("text_embeds"), t.embeds(), be.name() + " text embeds");
            }
        }
    }

    static void close(Tensor want, Tensor got, String what) {
        assertEquals(want.shapeString(), got.shapeString(), what);
        double rel = Compare.relativeMaxError(want.toFloatArray(), got.toFloatArray());
        assertTrue(rel <= 1e-4, what + ": max error " + rel + " × max |expected|");
    }

    @Test
    void aTokenizerThatDoesNotFitItsVocabularyIsOneClearError() throws IOException {
        Files.writeString(dir.resolve("vocab.json"), "{\"a</w>\": 0, \"<|startoftext|>\": 1, \"<|endoftext|>\": 2}");
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n");
        ClipTokenizer tok = ClipTokenizer.open(dir, 77);
        CheckpointException e = assertThrows(CheckpointException.class, () -> tok.encode("b"));
        assertTrue(e.getMessage().contains("not in vocab.json"), e.getMessage());
        Files.writeString(dir.resolve("vocab.json"), "{\"a</w>\": 0}");
        assertTrue(assertThrows(CheckpointException.class, () -> ClipTokenizer.open(dir, 77)).getMessage().contains("no '<|startoftext|>'"));
        assertTrue(assertThrows(CheckpointException.class, () -> ClipTokenizer.open(dir.resolve("none"), 77)).getMessage().contains("needs vocab.json and merges.txt"));
    }
}
