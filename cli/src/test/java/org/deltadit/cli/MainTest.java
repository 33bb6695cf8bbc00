package org.deltadit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.function.ToIntFunction;
import org.junit.jupiter.api.Test;

/** Exit statuses and messages of the command line: 0 when all is well, 2 and one line for bad input. */
public class MainTest {

    /** What one command-line run printed, and its exit status. */
    public record Run(int status, String out, String err) {}

    static Run run(String... args) {
        return capture(Main::execute, args);
    }

    /** Runs a command line's entry point with System.out and System.err captured; the Spark module's tests share it. */
    public static Run capture(ToIntFunction<String[]> execute, String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true));
        System.setErr(new PrintStream(err, true));
        try {
            int status = execute.applyAsInt(args);
            return new Run(status, out.toString(), err.toString());
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void selfcheckPassesOnBothBackends() {
        Run cpu = run("selfcheck", "--gemm", "none", "--threads", "2");
        assertEquals(0, cpu.status(), cpu.out() + cpu.err());
        assertTrue(cpu.out().contains("all 20 ops match"), cpu.out());
        Run ref = run("selfcheck", "--gemm", "none", "--backend", "reference");
        assertEquals(0, ref.status(), ref.out() + ref.err());
    }

    static final String FIX = "../weights/src/test/resources/fixtures/";

    @Test
    void theDeviceIsChosenInOnePlaceAndABadOneIsRefused() {
        String[] tiny = {"generate", "--model", FIX + "tiny_dit.pt", "--heads", "2", "--steps", "2", "--class", "1", "--save-latent"};
        Run bad = run("plan", "--arch", "DiT-S/2"); // plan runs nothing: the device does not matter
        assertEquals(0, bad.status(), bad.err());
        Run flag = run(concat(tiny, "x.safetensors", "--device", "tpu"));
        assertEquals(2, flag.status());
        assertEquals("dit: --device: unknown device 'tpu' (cpu, reference, opencl[:N], cuda[:N])", flag.err().strip());
        String old = System.getProperty("dit.backend");
        System.setProperty("dit.backend", "bogus"); // was ignored by every command
        try {
            Run prop = run(concat(tiny, "y.safetensors"));
            assertEquals(2, prop.status());
            assertEquals("dit: -Ddit.backend: unknown device 'bogus' (cpu, reference, opencl[:N], cuda[:N])", prop.err().strip());
            Run ref = run(concat(tiny, "target/ref.safetensors", "--device", "reference")); // the flag wins over the property
            assertEquals(0, ref.status(), ref.err());
        } finally {
            if (old == null) System.clearProperty("dit.backend");
            else System.setProperty("dit.backend", old);
        }
        Run threads = run(concat(tiny, "z.safetensors", "--threads", "0"));
        assertEquals("dit: --threads: 0 (must be at least 1)", threads.err().strip());
    }

    static String[] concat(String[] a, String... b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    /** The latent a {@code generate --save-latent FILE} run wrote. */
    static float[] savedLatent(java.nio.file.Path file) {
        try (org.deltadit.weights.StateDict sd = org.deltadit.weights.Safetensors.open(file)) {
            return sd.tensor("latent").toFloatArray();
        }
    }

    /** PSNR of samples in [−1, 1] (a range of 2): 10·log10(4 / MSE), +∞ where they are identical. */
    static double samplesPsnr(float[] x, float[] y) {
        double mse = 0;
        for (int i = 0; i < x.length; i++) mse += (x[i] - y[i]) * (x[i] - y[i]);
        mse /= x.length;
        return 10 * Math.log10(4 / mse);
    }

    @Test
    void infoDescribesACheckpoint() {
        Run r = run("info", "--model", FIX + "tiny_dit_train.pt", "--heads", "2");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("DiT, official layout"), r.out());
        assertTrue(r.out().contains("weights key:  ema (default)"), r.out());
        assertTrue(r.out().contains("num_heads    2          --heads"), r.out());
        assertTrue(r.out().contains("15,872 values"), r.out());
        Run d = run("info", "--model", FIX + "tiny_dit_diffusers");
        assertEquals(0, d.status(), d.err());
        assertTrue(d.out().contains("diffusers (timestep frequencies /127"), d.out());
    }

    @Test
    void infoOnBadFilesIsOneLineAndStatusTwo() {
        for (String[] args : new String[][] {
                {"info", "--model", FIX + "evil_os_system.pt"}, {"info", "--model", FIX + "nope.pt"},
                {"info", "--model", FIX + "tiny_dit.pt"}, {"info", "--model", FIX + "tiny_dit.pt", "--arch", "DiT-XL/2"},
                {"info", "--model", FIX + "tiny_dit.pt", "--arch", "DiT-Q/3"}, {"info"}}) {
            Run r = run(args);
            assertEquals(2, r.status(), String.join(" ", args) + ": " + r.err());
            assertEquals("", r.out(), "nothing on stdout for " + String.join(" ", args));
            assertEquals(1, r.err().strip().lines().count(), "one line for " + String.join(" ", args) + ": " + r.err());
        }
    }

    @Test
    void badInputIsOneLineAndStatusTwo() {
        for (String[] args : new String[][] {
                {"selfcheck", "--bogus"}, {"selfcheck", "--gemm", "12x3"}, {"selfcheck", "--gemm", "0x5x5"},
                {"selfcheck", "--backend", "gpu"}, {"selfcheck", "--threads", "0"}, {"selfcheck", "--threads", "two"}, {"nosuch"}}) {
            Run r = run(args);
            assertEquals(2, r.status(), String.join(" ", args) + ": " + r.err());
            String err = r.err().strip();
            assertTrue(err.startsWith("dit: "), String.join(" ", args) + ": " + err);
            assertTrue(!err.contains("\tat ") && !err.contains("Exception"), "no stack trace for " + String.join(" ", args) + ": " + err);
        }
    }
}
