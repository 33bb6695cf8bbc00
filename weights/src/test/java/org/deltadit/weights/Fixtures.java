package org.deltadit.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.jupiter.api.function.Executable;

/** Paths of the committed fixtures (made by tools/fixtures/make_weight_fixtures.py) and shared assertions. */
final class Fixtures {
    private Fixtures() {}

    static Path path(String name) {
        try {
            return Paths.get(Fixtures.class.getResource("/fixtures/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("fixture " + name + " missing; run tools/fixtures/make_weight_fixtures.py", e);
        }
    }

    /** The checkpoint error, whose one-line message must contain every part. */
    static CheckpointException fails(Executable body, String... parts) {
        CheckpointException e = assertThrows(CheckpointException.class, body);
        assertTrue(!e.getMessage().contains("\n"), "one line: " + e.getMessage());
        for (String p : parts) assertTrue(e.getMessage().contains(p), "'" + e.getMessage() + "' lacks '" + p + "'");
        return e;
    }

    /** Same keys in the same order, same shapes, bit-identical values. */
    static void sameTensors(StateDict expected, StateDict actual) {
        assertEquals(expected.keys().stream().toList(), actual.keys().stream().toList(), "keys");
        for (String k : expected.keys()) {
            TensorEntry e = expected.entry(k), a = actual.entry(k);
            assertEquals(e.type(), a.type(), k);
            assertArrayEquals(e.shape(), a.shape(), k);
            assertArrayEquals(e.toFloatArray(), a.toFloatArray(), k);
        }
    }
}
