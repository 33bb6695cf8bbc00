package org.deltadit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The same command, seed and vector width give the same bytes, whatever the thread count: latents, PNG and the
 * safetensors header, within one JVM and across JVMs (where the JIT compiles the kernels at other
 * moments). Before, vector exp/tanh and lane sums gave other last bits once C2 had compiled them,
 * and the metadata of the latent file came out in a random order.
 */
class ReproducibilityTest {
    @TempDir Path dir;

    static String[] args(Path latent, Path png, String threads) {
        return new String[] {"generate", "--model", "../models/demo", "--class", "3,1,4", "--seed", "7", "--steps", "6", "--batch", "2",
            "--cache", "delta-dit", "--threads", threads, "--save-latent", latent.toString(), "--out", png.toString()};
    }

    @Test
    void twiceInOneJvmGivesTheSameBytes() throws IOException {
        for (String threads : new String[] {"1", "2"}) {
            Path l1 = dir.resolve("a" + threads + ".safetensors"), l2 = dir.resolve("b" + threads + ".safetensors");
            Path p1 = dir.resolve("a" + threads + ".png"), p2 = dir.resolve("b" + threads + ".png");
            assertEquals(0, MainTest.run(args(l1, p1, threads)).status());
            assertEquals(0, MainTest.run(args(l2, p2, threads)).status());
            assertArrayEquals(Files.readAllBytes(l1), Files.readAllBytes(l2), "latents, " + threads + " threads");
            assertArrayEquals(Files.readAllBytes(p1), Files.readAllBytes(p2), "PNG, " + threads + " threads");
        }
        // every output value is computed by one thread in a fixed order, so the thread count changes nothing either
        assertArrayEquals(Files.readAllBytes(dir.resolve("a1.safetensors")), Files.readAllBytes(dir.resolve("a2.safetensors")), "1 thread vs 2");
    }

    /** Runs the CLI in a child JVM with {@code jvm} options; returns its status, output in {@code log}. */
    static int child(Path log, List<String> jvm, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--add-modules=jdk.incubator.vector"));
        cmd.addAll(jvm);
        cmd.addAll(List.of("-Ddit.quiet=true", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the child JVM did not finish");
        }
        return p.exitValue();
    }

    @Test
    void aBadEnginePropertyIsOneLineNotATrace() throws Exception {
        for (String bits : new String[] {"77", "abc", "1024"}) {
            Path log = dir.resolve("bits" + bits);
            int status = child(log, List.of("-Ddit.vector.bits=" + bits), "generate", "--class", "1", "--model", "../models/demo", "--out", dir.resolve("v.png").toString());
            String out = Files.readString(log).lines().filter(l -> !l.startsWith("WARNING: Using incubator")).reduce("", (a, b) -> a + b + "\n");
            assertEquals(2, status, out);
            assertEquals(1, out.strip().lines().count(), out);
            org.junit.jupiter.api.Assertions.assertTrue(out.startsWith("dit: -Ddit.vector.bits: "), out);
        }
    }

    @Test
    void twoJvmsGiveTheSameBytes() throws Exception {
        byte[] first = null;
        for (int run = 0; run < 2; run++) {
            Path latent = dir.resolve("jvm" + run + ".safetensors");
            int status = child(dir.resolve("log" + run), List.of(), args(latent, dir.resolve("jvm" + run + ".png"), "2"));
            assertEquals(0, status, Files.readString(dir.resolve("log" + run)));
            byte[] bytes = Files.readAllBytes(latent);
            if (first == null) first = bytes;
            else assertArrayEquals(first, bytes, "latents of two JVMs");
        }
    }
}
