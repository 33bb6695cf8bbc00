package org.deltadit.cli;

import static org.deltadit.cli.MainTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.deltadit.engine.Tensor;
import org.deltadit.weights.CheckpointFormat;
import org.deltadit.weights.DitConfig;
import org.deltadit.weights.Safetensors;
import org.deltadit.weights.SafetensorsWriter;
import org.deltadit.weights.StateDict;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** dit generate end to end on the tiny DiT fixture and a tiny VAE folder (factor 2: 8×8 latents → 16×16 PNGs). */
class GenerateTest {
    @TempDir Path dir;
    Path vae;
    static final String DIT = MainTest.FIX + "tiny_dit.pt";

    @BeforeEach
    void tinyVaeFolder() throws IOException {
        vae = Files.createDirectories(dir.resolve("vae"));
        SafetensorsWriter.copy(Path.of("../dit-model/src/test/resources/fixtures/tiny_vae.safetensors"), vae.resolve("diffusion_pytorch_model.safetensors"), k -> k.startsWith("w."), "w.");
        Files.writeString(vae.resolve("config.json"), "{\"block_out_channels\": [16, 32], \"layers_per_block\": 1, \"norm_num_groups\": 8, \"latent_channels\": 4, \"out_channels\": 3}");
    }

    String[] args(String... extra) {
        String[] base = {"generate", "--model", DIT, "--heads", "2", "--vae", vae.toString(), "--steps", "3", "--threads", "2"};
        String[] all = java.util.Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return all;
    }

    @Test
    void writesOnePngPerImageAndTheLatents() throws IOException {
        Path out = dir.resolve("imgs"), lat = dir.resolve("lat.safetensors");
        // three images in batches of two: the default DPM-Solver++ must start each batch afresh
        MainTest.Run r = run(args("--class", "1,5,9", "--batch", "2", "--out", out.toString(), "--save-latent", lat.toString(), "--json"));
        assertEquals(0, r.status(), r.err());
        for (int i = 0; i < 3; i++) {
            BufferedImage img = ImageIO.read(out.resolve(String.format("%05d.png", i)).toFile());
            assertEquals(16, img.getWidth());
            assertEquals(16, img.getHeight());
        }
        try (StateDict sd = Safetensors.open(lat)) {
            assertArrayEquals(new int[] {3, 4, 8, 8}, sd.tensor("latent").shape());
        }
        assertTrue(r.out().startsWith("{\"images\":3,"), r.out());
        assertTrue(r.out().contains("\"macs\":") && r.out().contains("\"plan\":[{\"step\":1,\"timestep\":999"), r.out());
        assertEquals(1, r.out().strip().lines().count(), "one JSON line");
        // the VAE's safetensors weights are mapped, so packed once on their first use, inside the run
        double packed = CacheCommandsTest.field(r.out(), "pack_seconds");
        assertTrue(packed > 0 && packed < CacheCommandsTest.field(r.out(), "seconds"), r.out());
    }

    @Test
    void sameSeedSameImagesWhateverTheBatchOrThreads() throws IOException {
        Path a = dir.resolve("a.safetensors"), b = dir.resolve("b.safetensors");
        // DDIM with η = 1 draws fresh noise every step: it too must not depend on batching or threads.
        MainTest.Run first = run(args("--class", "2,3", "--sampler", "ddim", "--eta", "1", "--save-latent", a.toString(), "--out", dir.resolve("a.png").toString()));
        assertEquals(0, first.status(), first.err());
        String[] second = args("--class", "2,3", "--sampler", "ddim", "--eta", "1", "--batch", "1", "--save-latent", b.toString(), "--out", dir.resolve("b.png").toString());
        second[java.util.Arrays.asList(second).indexOf("--threads") + 1] = "1";
        assertEquals(0, run(second).status());
        try (StateDict x = Safetensors.open(a); StateDict y = Safetensors.open(b)) {
            assertArrayEquals(x.tensor("latent").toFloatArray(), y.tensor("latent").toFloatArray(), 1e-5f);
        }
        assertTrue(ImageIO.read(dir.resolve("a.png").toFile()).getWidth() == 32, "two images make a 2×1 grid");
    }

    @Test
    void pixelSpaceModelsWriteGreyPngsWithoutAVae() throws IOException {
        // A 1-channel DiT in pixel space, like the demo model: random weights under official names.
        DitConfig c = new DitConfig(8, 2, 1, 16, 2, 2, 10, true, 64, CheckpointFormat.DIT_OFFICIAL, Map.of());
        Map<String, Tensor> w = new LinkedHashMap<>();
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        for (Map.Entry<String, int[]> e : c.expectedShapes().entrySet()) {
            Tensor t = Tensor.zeros(e.getValue());
            float[] v = new float[(int) t.numel()];
            for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * 0.1);
            w.put(e.getKey(), Tensor.of(v, e.getValue()));
        }
        Path ckpt = dir.resolve("pixel.safetensors"), png = dir.resolve("digit.png");
        SafetensorsWriter.write(ckpt, w, null);
        MainTest.Run run = run("generate", "--model", ckpt.toString(), "--heads", "2", "--image-size", "8", "--class", "3", "--steps", "2", "--out", png.toString());
        assertEquals(0, run.status(), run.err());
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(8, img.getWidth());
        assertEquals(BufferedImage.TYPE_BYTE_GRAY, img.getType());
    }

    @Test
    void aDiffusersRepositoryBringsItsOwnVae() throws IOException {
        Path repo = dir.resolve("repo");
        Files.createDirectories(repo.resolve("transformer"));
        Path src = Path.of(MainTest.FIX + "tiny_dit_diffusers");
        Files.copy(src.resolve("model_index.json"), repo.resolve("model_index.json"));
        for (String f : new String[] {"config.json", "diffusion_pytorch_model.bin"}) Files.copy(src.resolve("transformer").resolve(f), repo.resolve("transformer").resolve(f));
        Files.createDirectories(repo.resolve("vae"));
        for (String f : new String[] {"config.json", "diffusion_pytorch_model.safetensors"}) Files.copy(vae.resolve(f), repo.resolve("vae").resolve(f));
        Path png = dir.resolve("repo.png");
        MainTest.Run run = run("generate", "--model", repo.toString(), "--class", "4", "--steps", "2", "--out", png.toString());
        assertEquals(0, run.status(), run.err());
        assertEquals(16, ImageIO.read(png.toFile()).getWidth(), "8×8 latents through the repository's factor-2 VAE");
    }

    @Test
    void theShippedDemoModelMakesDigitsWithoutAnyOption() throws IOException {
        String old = System.getProperty("dit.home");
        System.setProperty("dit.home", "..");
        try {
            Path png = dir.resolve("digits.png");
            MainTest.Run r = run("generate", "--class", "3,1,4", "--steps", "4", "--threads", "2", "--out", png.toString());
            assertEquals(0, r.status(), r.err());
            BufferedImage img = ImageIO.read(png.toFile());
            assertEquals(BufferedImage.TYPE_BYTE_GRAY, img.getType());
            assertEquals(64, img.getWidth(), "three 32×32 digits in a 2×2 grid");
            assertEquals(64, img.getHeight());
        } finally {
            if (old == null) System.clearProperty("dit.home");
            else System.setProperty("dit.home", old);
        }
    }

    @Test
    void withoutAModelTheDemoModelIsUsedOrItsAbsenceNamed() {
        String old = System.getProperty("dit.home");
        System.setProperty("dit.home", dir.toString());
        try {
            MainTest.Run r = run("generate", "--class", "1", "--out", dir.resolve("d.png").toString());
            assertEquals(2, r.status(), r.err());
            assertTrue(r.err().contains("the demo model is not in") && r.err().contains("train_demo.py"), r.err());
        } finally {
            if (old == null) System.clearProperty("dit.home");
            else System.setProperty("dit.home", old);
        }
    }

    @Test
    void aLatentThatTurnsNaNStopsWithTheStepNumber() {
        // An untrained model's σ channels lie far outside [−1, 1]; DDPM's learned-range variance then overflows.
        MainTest.Run r = run(args("--class", "2", "--sampler", "ddpm", "--out", dir.resolve("nan.png").toString()));
        assertEquals(1, r.status(), r.err());
        assertTrue(r.err().contains("NaN or infinite at step 2 of 3"), r.err());
        assertFalse(Files.exists(dir.resolve("nan.png")));
    }

    @Test
    void givenNoiseIsUsedAndCheckedForShape() throws IOException {
        Path good = dir.resolve("noise.safetensors"), bad = dir.resolve("bad.safetensors");
        SafetensorsWriter.write(good, Map.of("noise", Tensor.zeros(1, 4, 8, 8)), null);
        SafetensorsWriter.write(bad, Map.of("noise", Tensor.zeros(1, 4, 7, 8)), null);
        assertEquals(0, run(args("--class", "1", "--noise", good.toString(), "--out", dir.resolve("n.png").toString())).status());
        MainTest.Run r = run(args("--class", "1", "--noise", bad.toString(), "--out", dir.resolve("m.png").toString()));
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--noise: [1, 4, 7, 8]") && r.err().contains("needs [1, 4, 8, 8]"), r.err());
        assertFalse(Files.exists(dir.resolve("m.png")));
    }

    @Test
    void badInputIsOneLineWithNoFileLeftBehind() throws IOException {
        String[][] cases = {
            {"--class", "10"}, {"--class", "-1"}, {"--steps", "0"}, {"--sampler", "heun"}, {"--spacing", "karras"},
            {"--image-size", "24"}, {"--image-size", "15"}, {"--guide-channels", "5"}, {"--count", "0"}, {"--final-sigma", "max"},
            {"--noise", "missing.safetensors"}, {"--vae", MainTest.FIX + "tiny_dit.pt"}, {"--cfg", "nan"}};
        for (String[] c : cases) {
            Path png = dir.resolve("x.png");
            String[] a = args(c);
            String[] all = java.util.Arrays.copyOf(a, a.length + 2);
            all[a.length] = "--out";
            all[a.length + 1] = png.toString();
            MainTest.Run r = run(all);
            assertEquals(2, r.status(), String.join(" ", c) + ": " + r.err());
            // the whole of stderr is the one line: no progress, no warning, no trace before or after it
            assertEquals(1, r.err().strip().lines().count(), String.join(" ", c) + ": " + r.err());
            assertTrue(r.err().startsWith("dit: "), String.join(" ", c) + ": " + r.err());
            assertFalse(Files.exists(png), "no PNG after " + String.join(" ", c));
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temporary files left");
        }
        MainTest.Run noVae = run("generate", "--model", DIT, "--heads", "2", "--out", dir.resolve("y.png").toString());
        assertEquals(2, noVae.status());
        assertTrue(noVae.err().contains("give --vae"), noVae.err());
    }
}
