package org.deltadit.cli;

import static org.deltadit.cli.MainTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.deltadit.engine.Tensor;
import org.deltadit.weights.CheckpointFormat;
import org.deltadit.weights.DitConfig;
import org.deltadit.weights.SafetensorsWriter;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** dit bench compare on a tiny random 1×32×32 DiT with the shipped digit classifier. */
public class CompareTest {
    @TempDir Path dir;
    Path model;

    @BeforeEach
    void tinyDigitModel() throws IOException { model = tinyDigitModel(Files.createDirectories(dir.resolve("m"))); }

    /** A tiny random 1×32×32 class-conditional DiT (4 blocks, 2 heads) written into {@code model}. */
    public static Path tinyDigitModel(Path model) throws IOException {
        DitConfig c = new DitConfig(32, 4, 1, 16, 4, 2, 10, true, 64, CheckpointFormat.DIT_OFFICIAL, Map.of());
        Map<String, Tensor> w = new LinkedHashMap<>();
        java.util.SplittableRandom r = new java.util.SplittableRandom(5);
        for (Map.Entry<String, int[]> e : c.expectedShapes().entrySet()) {
            float[] v = new float[(int) Tensor.zeros(e.getValue()).numel()];
            for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * 0.1);
            w.put(e.getKey(), Tensor.of(v, e.getValue()));
        }
        SafetensorsWriter.write(model.resolve("dit.safetensors"), w, null);
        Files.writeString(model.resolve("config.json"), "{\"input_size\": 32, \"num_heads\": 2}");
        return model;
    }

    @Test
    void printsThePaperTableWithQualityColumns() throws IOException {
        for (String f : new String[] {"classifier.safetensors", "fid_stats.safetensors"}) Files.copy(Path.of("../models/demo").resolve(f), model.resolve(f));
        MainTest.Run r = run("bench", "compare", "--model", model.toString(), "--count", "4", "--steps", "4", "--rows", "full,t3,faster,shallow,deep,delta-dit,reverse");
        assertEquals(0, r.status(), r.err());
        // the JIT warm-up runs before the first timed row, not inside it
        int warm = r.err().indexOf("bench: warming up"), firstRow = r.err().indexOf("bench: Full (T = 4)");
        assertTrue(warm >= 0 && firstRow > warm, r.err());
        assertEquals(7, r.out().lines().filter(l -> l.startsWith("| ") && !l.startsWith("| Method")).count(), r.out());
        assertTrue(r.out().contains("| Full (T = 4) |") && r.out().contains("| ref | ref |"), "table: " + r.out());
        assertTrue(r.out().contains("Δ-DiT (b = 2, N_c = 3)"), "delta-dit row: " + r.out());
        assertTrue(r.out().matches("(?s).*\\| Δ-Cache deep \\[1,4\\) \\| [0-9.]+[MG] \\| [0-9.]+× \\| [0-9.]+ \\| [0-9.]+ \\| [0-9.]+% \\| [0-9.]+ \\| [0-9.]+ \\|.*"), "deep row: " + r.out());
        Path plot = dir.resolve("rows.png");
        MainTest.Run j = run("bench", "compare", "--model", model.toString(), "--count", "2", "--steps", "4", "--rows", "full,delta-dit", "--json", "--plot", plot.toString());
        assertEquals(2, j.out().lines().count(), j.out());
        assertChart(plot, 1600, 600); // FID and PSNR panels side by side
        assertTrue(j.out().contains("\"row\":\"delta-dit\"") && j.out().contains("\"fid\":"), "json: " + j.out());
    }

    @Test
    void bootstrapAddsPairedFidIntervals() throws IOException {
        MainTest.Run none = run("bench", "compare", "--model", model.toString(), "--count", "2", "--steps", "4", "--rows", "full", "--bootstrap", "20");
        assertEquals(2, none.status(), none.err());
        assertTrue(none.err().contains("--bootstrap: needs the digit CNN's FID") && !none.err().contains("warming up"), none.err()); // refused before any image
        for (String f : new String[] {"classifier.safetensors", "fid_stats.safetensors"}) Files.copy(Path.of("../models/demo").resolve(f), model.resolve(f));
        MainTest.Run r = run("bench", "compare", "--model", model.toString(), "--count", "6", "--steps", "4", "--rows", "full,t3,delta-dit", "--bootstrap", "20");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("Paired bootstrap of the FID: 20 resamples of the 6 images"), r.out());
        assertTrue(r.out().matches("(?s).*\\| 2\\. T = 3 \\| \\[[-+][0-9.]+, [-+][0-9.]+\\] \\| [01]\\.[0-9]{2} \\| – \\| [01]\\.[0-9]{2} \\|.*"), r.out());
        MainTest.Run j = run("bench", "compare", "--model", model.toString(), "--count", "6", "--steps", "4", "--rows", "full,t3", "--bootstrap", "20", "--json");
        assertEquals(0, j.status(), j.err());
        assertTrue(j.out().lines().toList().get(1).matches(".*\"fid_minus_first\":\\[-?[0-9.]+,-?[0-9.]+\\],\"fid_lower_share\":\\[[0-9.]+,null\\],\"bootstrap\":20}"), j.out());
    }

    /** Rows at a MAC budget: Δ-DiT's N and N_c and a rear Δ-Cache's span solved so that the row spends at most 1/X of full compute. */
    @Test
    void budgetRowsMeetTheirBudget() {
        MainTest.Run r = run("bench", "compare", "--model", model.toString(), "--count", "1", "--steps", "10", "--rows", "full,delta-dit@2,deep@2.5,reverse@1.5", "--json");
        assertEquals(0, r.status(), r.err());
        java.util.List<String> rows = r.out().lines().toList();
        assertEquals(4, rows.size(), r.out());
        double[] want = {1, 2, 2.5, 1.5};
        for (int i = 1; i < 4; i++) {
            double speedup = Double.parseDouble(rows.get(i).replaceAll(".*\"speedup\":([0-9.]+).*", "$1"));
            assertTrue(speedup >= want[i] - 1e-9 && speedup < want[i] * 1.5, rows.get(i)); // a 4-block model overshoots in coarse steps
        }
        assertTrue(rows.get(1).contains("Δ-DiT @ 2.00× (b = 6, N = "), rows.get(1));
        assertTrue(rows.get(2).contains("Δ-Cache deep @ 2.50× (delta-cache [") && rows.get(2).contains(",4) N="), rows.get(2));
    }

    @Test
    void inceptionMetricsAddFidAndIsColumns() {
        String fix = "../eval/src/test/resources/fixtures/";
        MainTest.Run r = run("bench", "compare", "--model", model.toString(), "--count", "3", "--steps", "4", "--rows", "full,delta-dit",
                "--metrics", "fid,is", "--fid-weights", fix + "tiny_pt_inception.pth", "--fid-stats", fix + "tiny_fid_stats.npz");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("| Method | MACs | Speedup | Latency (s/image) | FID | Accuracy | FID (Inception) | IS | PSNR | SSIM |"), r.out());
        // the tiny network's figures, row by row: an FID, an IS "mean ± std" over min(10, 3) = 3 parts
        assertTrue(r.out().matches("(?s).*\\| Full \\(T = 4\\) \\|[^\\n]*\\| [0-9.]+ \\| [0-9.]+ ± [0-9.]+ \\| ref \\| ref \\|.*"), r.out());
        MainTest.Run j = run("bench", "compare", "--model", model.toString(), "--count", "3", "--steps", "4", "--rows", "full", "--json",
                "--metrics", "is", "--fid-weights", fix + "tiny_pt_inception.pth");
        assertEquals(0, j.status(), j.err());
        assertTrue(j.out().contains("\"is\":") && !j.out().contains("fid_inception"), j.out());
    }

    @Test
    void aLatentModelsInceptionMetricsNeedItsVae() throws IOException {
        // the metrics read decoded images: a bare DiT .pt needs --vae, refused before any image when it is missing
        String fix = "../eval/src/test/resources/fixtures/";
        String[] common = {"bench", "compare", "--model", MainTest.FIX + "tiny_dit.pt", "--heads", "2", "--count", "2", "--steps", "3", "--rows", "full,shallow",
                "--metrics", "is", "--fid-weights", fix + "tiny_pt_inception.pth"};
        MainTest.Run none = run(common);
        assertEquals(2, none.status());
        assertTrue(none.err().startsWith("dit: --vae: this model makes 4-channel latents") && !none.err().contains("warming up"), none.err());
        Path vae = PixArtGenerateTest.tinyRepository(dir).resolve("vae");
        MainTest.Run r = run(PixArtGenerateTest.concat(common, new String[] {"--vae", vae.toString()}));
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("| IS | PSNR | SSIM |"), r.out());
    }

    @Test
    void aTextToImageModelTakesPromptsAndGetsAClipScoreColumn() throws IOException {
        Path repo = PixArtGenerateTest.tinyRepository(dir);
        Path prompts = Files.writeString(dir.resolve("prompts.txt"), "a photo of a cat\n\nthe sea at night\ntwo dogs\n");
        String fix = "../eval/src/test/resources/fixtures/";
        MainTest.Run r = run("bench", "compare", "--model", repo.toString(), "--prompts", prompts.toString(), "--count", "3", "--steps", "3", "--batch", "3",
                "--rows", "full,delta-dit", "--metrics", "clip,is", "--clip-model", "../dit-model/src/test/resources/fixtures/tiny_clip",
                "--fid-weights", fix + "tiny_pt_inception.pth");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("| IS | CLIP | PSNR | SSIM |"), r.out());
        assertTrue(r.out().matches("(?s).*\\| Full \\(T = 3\\) \\|[^\\n]*\\| [0-9.]+ ± [0-9.]+ \\| [0-9.]+ \\| ref \\| ref \\|.*"), r.out());
        MainTest.Run fewer = run("bench", "compare", "--model", repo.toString(), "--prompts", prompts.toString(), "--count", "4", "--steps", "2");
        assertEquals(2, fewer.status());
        assertEquals("dit: --prompts: 3 prompts for 4 images per row (image i takes prompt i: give at least --count)", fewer.err().strip());
        MainTest.Run noPrompts = run("bench", "compare", "--model", repo.toString(), "--count", "1", "--steps", "2");
        assertEquals(2, noPrompts.status());
        assertTrue(noPrompts.err().contains("--prompts: ") && noPrompts.err().contains("text-to-image model"), noPrompts.err());
    }

    @Test
    void fidStatsOfAFolderAreThoseOfTheSameImagesInMemory() throws IOException {
        String fix = "../eval/src/test/resources/fixtures/";
        Path images = dir.resolve("real");
        MainTest.Run g = run("generate", "--model", model.toString(), "--class", "1,2,3", "--steps", "2", "--out", images.toString());
        assertEquals(0, g.status(), g.err());
        Path npz = dir.resolve("real.npz");
        MainTest.Run r = run("fid-stats", "--images", images.toString(), "--fid-weights", fix + "tiny_pt_inception.pth", "--out", npz.toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.err().contains("fid-stats: 3 images, 128 features"), r.err());
        org.deltadit.eval.Fid.Stats stats = org.deltadit.eval.Npz.readStats(npz);
        org.deltadit.eval.InceptionV3 net = org.deltadit.eval.InceptionV3.load(Path.of(fix + "tiny_pt_inception.pth"), new org.deltadit.engine.cpu.CpuBackend(2));
        java.util.List<org.deltadit.pipeline.Image> pngs = new java.util.ArrayList<>();
        for (String f : new String[] {"00000.png", "00001.png", "00002.png"}) {
            java.awt.image.BufferedImage b = javax.imageio.ImageIO.read(images.resolve(f).toFile());
            byte[] px = new byte[b.getWidth() * b.getHeight()];
            for (int y = 0; y < b.getHeight(); y++) for (int x = 0; x < b.getWidth(); x++) px[y * b.getWidth() + x] = (byte) (b.getRGB(x, y) & 0xff);
            pngs.add(new org.deltadit.pipeline.Image(b.getWidth(), b.getHeight(), 1, px));
        }
        Tensor pool = net.run(org.deltadit.eval.InceptionV3.fromImages(pngs), false).pool();
        float[][] f = new float[3][];
        for (int i = 0; i < 3; i++) f[i] = pool.select(0, i).toFloatArray();
        org.deltadit.eval.Fid.Stats want = org.deltadit.eval.Fid.stats(f);
        for (int i = 0; i < 128; i++) assertEquals(want.mu()[i], stats.mu()[i], 1e-6 * (1 + Math.abs(want.mu()[i])), "mu " + i);
        assertEquals(0, org.deltadit.eval.Fid.distance(want, stats), 1e-3, "the same images, the same Gaussian");
    }

    @Test
    void ddpmRowsShareTheirFreshNoise() {
        // "t4" repeats the uncached run: with the same seeded fresh noise it is identical (PSNR capped at 100, SSIM 1)
        MainTest.Run r = run("bench", "compare", "--model", model.toString(), "--count", "2", "--steps", "4", "--sampler", "ddpm", "--rows", "full,t4,delta-dit", "--json");
        assertEquals(0, r.status(), r.err());
        String t4 = r.out().lines().filter(l -> l.contains("\"row\":\"t4\"")).findFirst().orElse("");
        assertTrue(t4.contains("\"psnr\":100.000,\"ssim\":1.0000"), r.out());
        String cached = r.out().lines().filter(l -> l.contains("\"row\":\"delta-dit\"")).findFirst().orElse("");
        assertTrue(!cached.isEmpty() && !cached.contains("\"psnr\":100.000"), "the cache changes DDPM's images: " + r.out());
    }

    @Test
    void withoutAClassifierItSaysSoAndPrintsTheRest() {
        MainTest.Run r = run("bench", "compare", "--model", model.toString(), "--count", "2", "--steps", "4", "--rows", "full,delta-dit");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.err().contains("FID and accuracy are left out"), r.err());
        assertTrue(r.out().contains("| – | – |"), r.out());
    }

    @Test
    void analysesWritePngAndCsv() throws IOException {
        Path out = dir.resolve("analysis");
        MainTest.Run sim = run("analyze", "delta-similarity", "--model", model.toString(), "--count", "2", "--steps", "3", "--out", out.toString());
        assertEquals(0, sim.status(), sim.err());
        java.util.List<String> csv = Files.readAllLines(out.resolve("delta_similarity.csv"));
        assertEquals("block,step2,step3", csv.get(0));
        assertEquals(5, csv.size(), "4 blocks");
        for (String row : csv.subList(1, csv.size())) {
            String[] v = row.split(",");
            assertEquals(3, v.length, row);
            for (int k = 1; k < v.length; k++) {
                double s = Double.parseDouble(v[k]);
                assertTrue(s >= -1 && s <= 1, "a cosine similarity: " + row);
            }
        }
        assertChart(out.resolve("delta_similarity.png"), 900, 700);
        MainTest.Run four = run("analyze", "fourier", "--model", model.toString(), "--count", "2", "--steps", "3", "--out", out.toString());
        assertEquals(0, four.status(), four.err());
        java.util.List<String> four4 = Files.readAllLines(out.resolve("fourier.csv"));
        assertEquals("radius,none,shallow,middle,deep", four4.get(0));
        for (String row : four4.subList(1, four4.size())) {
            String[] v = row.split(",");
            assertEquals(5, v.length, row);
            for (int k = 1; k < v.length; k++) assertTrue(Double.parseDouble(v[k]) <= 1e-9, "log(|F| / max |F|) is at most 0: " + row);
        }
        assertChart(out.resolve("fourier.png"), 900, 600);
        MainTest.Run bad = run("analyze", "fourier", "--model", model.toString(), "--count", "0");
        assertEquals(2, bad.status());
    }

    /** A real PNG of the chart's size with more than one colour (a plot, not an empty canvas). */
    static void assertChart(Path png, int width, int height) throws IOException {
        java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(png.toFile());
        assertEquals(width, img.getWidth());
        assertEquals(height, img.getHeight());
        java.util.Set<Integer> colours = new java.util.HashSet<>();
        for (int y = 0; y < height; y += 7) for (int x = 0; x < width; x += 7) colours.add(img.getRGB(x, y));
        assertTrue(colours.size() > 5, "colours in the chart: " + colours.size());
    }

    @Test
    void badRowsAndCountsAreOneLine() {
        for (String[] a : new String[][] {{"--rows", "full,warp"}, {"--count", "0"}, {"--rows", "faster9"}, {"--plot", dir.resolve("rows.svg").toString()}}) {
            String[] all = {"bench", "compare", "--model", model.toString(), "--steps", "4", a[0], a[1]};
            MainTest.Run r = run(all);
            assertEquals(2, r.status(), String.join(" ", a) + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
        }
    }
}
