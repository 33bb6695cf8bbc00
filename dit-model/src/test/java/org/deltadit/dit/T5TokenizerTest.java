package org.deltadit.dit;

import static org.deltadit.dit.DitModelTest.fixture;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.deltadit.weights.Json;
import org.junit.jupiter.api.Test;

/** The tokenizer against tools/reference/tokenizer_reference.py (Python sentencepiece) on a tiny T5-style model. */
class T5TokenizerTest {

    @Test
    @SuppressWarnings("unchecked")
    void idsAndMasksMatchPython() {
        Map<String, Object> expected = Json.readObject(fixture("tiny_spiece_expected.json"));
        int max = ((Number) expected.get("max_length")).intValue();
        List<Map<String, Object>> cases = (List<Map<String, Object>>) expected.get("cases");
        List<String> prompts = new ArrayList<>();
        for (Map<String, Object> c : cases) prompts.add((String) c.get("prompt"));
        try (T5Tokenizer tok = T5Tokenizer.open(fixture("tiny_spiece.model"), max)) {
            T5Tokenizer.Tokens t = tok.encode(prompts);
            for (int i = 0; i < cases.size(); i++) {
                List<Object> ids = (List<Object>) cases.get(i).get("ids"), mask = (List<Object>) cases.get(i).get("mask");
                int[] wantIds = ids.stream().mapToInt(o -> ((Number) o).intValue()).toArray();
                float[] wantMask = new float[mask.size()];
                for (int k = 0; k < wantMask.length; k++) wantMask[k] = ((Number) mask.get(k)).floatValue();
                assertArrayEquals(wantIds, t.ids()[i], "ids of '" + prompts.get(i) + "'");
                assertArrayEquals(wantMask, t.mask()[i], "mask of '" + prompts.get(i) + "'");
                assertEquals(cases.get(i).get("truncated"), t.truncated()[i], "truncation of '" + prompts.get(i) + "'");
            }
        }
    }

    @Test
    void missingOrBadModelIsNamed() throws Exception {
        assertThrows(IllegalArgumentException.class, () -> T5Tokenizer.open(Path.of("/nonexistent/spiece.model"), 120));
        Path junk = Files.createTempFile("spiece", ".model");
        Files.writeString(junk, "not a model");
        try {
            var e = assertThrows(IllegalArgumentException.class, () -> T5Tokenizer.open(junk, 120));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("not a SentencePiece model"), e.getMessage());
        } finally {
            Files.delete(junk);
        }
    }
}
