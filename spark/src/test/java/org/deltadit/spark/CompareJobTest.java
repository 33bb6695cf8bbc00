package org.deltadit.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import org.deltadit.cli.MainTest;
import org.deltadit.eval.CompareRow;
import org.deltadit.eval.Comparison;
import org.deltadit.eval.RowStats;
import org.deltadit.pipeline.Pipeline;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** dit-spark compare in local mode prints the table of `dit bench compare` for the same seeds and rows. */
class CompareJobTest {
    @TempDir Path dir;
    static final String FIX = "../eval/src/test/resources/fixtures/";

    @BeforeAll
    static void start() { SparkTests.session(); }

    /** The table without its latency column (wall time differs from run to run). */
    static List<String> withoutLatency(String table) {
        return table.lines().map(l -> l.startsWith("| ") && !l.startsWith("| Method") ? l.replaceFirst("^(\\|[^|]*\\|[^|]*\\|[^|]*\\|)[^|]*\\|", "$1 … |") : l).toList();
    }

    static String cli(String... args) {
        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true));
        try {
            assertEquals(0, org.deltadit.cli.Main.execute(args), "dit " + String.join(" ", args));
        } finally {
            System.setOut(old);
        }
        return out.toString();
    }

    @Test
    void theClusterTableIsTheSingleMachineTable() throws IOException {
        Path model = SparkTests.tinyDigitModel(dir);
        String[] common = {"--model", model.toString(), "--count", "6", "--steps", "4", "--seed", "3", "--batch", "2", "--rows", "full,t3,forecast-deep,delta-dit",
            "--metrics", "fid,is", "--fid-weights", FIX + "tiny_pt_inception.pth", "--fid-stats", FIX + "tiny_fid_stats.npz", "--bootstrap", "20"};
        String single = cli(concat(new String[] {"bench", "compare", "--threads", "2"}, common));
        MainTest.Run r = SparkTests.run(concat(new String[] {"compare", "--master", SparkTests.MASTER, "--partitions", "3", "--threads", "1"}, common));
        assertEquals(0, r.status(), r.err());
        assertEquals(withoutLatency(single), withoutLatency(r.out()));
        assertEquals(4, r.out().split("Paired bootstrap")[0].lines().filter(l -> l.startsWith("| ") && !l.startsWith("| Method")).count(), r.out());
        assertTrue(r.out().contains("| FID (Inception) | IS |"), "the Inception columns: " + r.out());
        assertTrue(r.out().contains("Paired bootstrap of the FID: 20 resamples of the 6 images"), "the bootstrap, from every part's features: " + r.out());
        assertEquals(3, r.err().lines().filter(l -> l.matches("dit-spark: part \\d done .*")).count(), r.err());
        // --json: one object per row, the same figures
        MainTest.Run j = SparkTests.run(concat(new String[] {"compare", "--master", SparkTests.MASTER, "--partitions", "2", "--threads", "1", "--json"}, common));
        String singleJson = cli(concat(new String[] {"bench", "compare", "--threads", "2", "--json"}, common));
        assertEquals(singleJson.replaceAll("\"seconds_per_image\":[0-9.]+", ""), j.out().replaceAll("\"seconds_per_image\":[0-9.]+", ""));
    }

    @Test
    void aTextToImageTableWithClipAndIsIsTheSingleMachineOne() throws IOException {
        Path repo = org.deltadit.cli.PixArtGenerateTest.tinyRepository(dir);
        Path prompts = java.nio.file.Files.writeString(dir.resolve("prompts.txt"), "a photo of a cat\nthe sea at night\ntwo dogs\nblue sky\n");
        String[] common = {"--model", repo.toString(), "--prompts", prompts.toString(), "--count", "4", "--steps", "3", "--seed", "1", "--batch", "2",
            "--rows", "full,delta-dit", "--metrics", "clip,is", "--clip-model", "../dit-model/src/test/resources/fixtures/tiny_clip",
            "--fid-weights", FIX + "tiny_pt_inception.pth"};
        String single = cli(concat(new String[] {"bench", "compare", "--threads", "2"}, common));
        MainTest.Run r = SparkTests.run(concat(new String[] {"compare", "--master", SparkTests.MASTER, "--partitions", "2", "--threads", "1"}, common));
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("| IS | CLIP |"), r.out());
        assertEquals(withoutLatency(single), withoutLatency(r.out()));
    }

    /** A part sends back every image's CNN features only where the driver will bootstrap them; the sums either way. */
    @Test
    void aPartShipsPerImageFeaturesOnlyForTheBootstrap() throws IOException {
        Path model = SparkTests.tinyDigitModel(dir);
        ModelRef ref = new ModelRef(model.toString(), null, null, null, null, null, "cpu", 1);
        Comparison.Settings s = new Comparison.Settings("ddim", 3, 4.0, 4, 2, 0, null, null, null);
        List<CompareRow> rows;
        try (Pipeline p = Pipeline.open(ref.spec())) {
            rows = CompareRow.parse("full,t2", 3, p.config(), 2);
        }
        Work.Part part = new Work.Part(0, 1, 3);
        RowStats[] lean = new CompareCommand.Task(ref, rows, model.toString(), Comparison.Metrics.NONE, s, false).run(part);
        RowStats[] full = new CompareCommand.Task(ref, rows, model.toString(), Comparison.Metrics.NONE, s, true).run(part);
        for (int k = 0; k < rows.size(); k++) {
            assertEquals(0, lean[k].imagesHeld(), "row " + k + " without --bootstrap");
            assertEquals(2, full[k].imagesHeld(), "row " + k + " with --bootstrap");
            assertEquals(full[k].accuracy(), lean[k].accuracy(), "the sums do not depend on it");
            assertEquals(2, lean[k].count());
        }
    }

    static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
