package org.deltadit.weights;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Byte-level mutations of a small valid safetensors file and a small valid torch.save file: each
 * mutant must load (and then read every tensor) or fail with a {@link CheckpointException}; any
 * other exception, an OutOfMemoryError or a hang fails the test. Seeded, so a failure reproduces.
 */
class FuzzTest {
    static final int MUTANTS = 10_000;

    static byte[] mutate(byte[] good, SplittableRandom r) {
        byte[] b = good.clone();
        switch (r.nextInt(5)) {
            case 0 -> { for (int i = r.nextInt(1, 5); i > 0; i--) b[r.nextInt(b.length)] = (byte) r.nextInt(256); }
            case 1 -> b = java.util.Arrays.copyOf(b, r.nextInt(b.length));
            case 2 -> { int at = r.nextInt(b.length); b[at] ^= (byte) (1 << r.nextInt(8)); }
            case 3 -> { // a random little-endian integer over 4 or 8 bytes: lengths, offsets, sizes
                int w = r.nextBoolean() ? 4 : 8, at = r.nextInt(Math.max(1, b.length - w));
                long v = r.nextBoolean() ? r.nextLong() : r.nextInt(1 << 20);
                for (int i = 0; i < w && at + i < b.length; i++) b[at + i] = (byte) (v >>> (8 * i));
            }
            default -> { // a digit changed inside text: JSON numbers, pickle lengths
                int at = r.nextInt(b.length);
                b[at] = (byte) ('0' + r.nextInt(10));
            }
        }
        return b;
    }

    interface Loader {
        StateDict load(MemorySegment seg);
    }

    static void fuzz(String name, byte[] good, Loader loader, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            int loaded = 0;
            for (int i = 0; i < MUTANTS; i++) {
                byte[] m = mutate(good, r);
                try (StateDict sd = loader.load(MemorySegment.ofArray(m))) {
                    for (TensorEntry e : sd.entries()) e.toFloatArray();
                    loaded++;
                } catch (CheckpointException expected) {
                    // the typed error is the other correct outcome
                } catch (Throwable t) {
                    fail(name + " mutant " + i + " (seed " + seed + ") threw " + t, t);
                }
            }
            System.out.println(name + ": " + MUTANTS + " mutants, " + loaded + " loaded, the rest refused with CheckpointException");
        });
    }

    @Test
    void safetensorsMutants() throws IOException {
        byte[] good = Files.readAllBytes(Fixtures.path("views.safetensors"));
        fuzz("views.safetensors", good, seg -> {
            Map<String, TensorEntry> into = new LinkedHashMap<>();
            Safetensors.parse("mutant", seg, into);
            return new StateDict("mutant", into, List.of(), seg.byteSize(), Map.of());
        }, 11);
    }

    @Test
    void torchMutants() throws IOException {
        byte[] good = Files.readAllBytes(Fixtures.path("views.pt"));
        fuzz("views.pt", good, seg -> TorchCheckpoint.parse("mutant", seg, null, List.of()), 12);
    }
}
