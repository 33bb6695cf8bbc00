package org.deltadit.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.deltadit.engine.Tensor;
import org.deltadit.engine.cpu.CpuBackend;
import org.deltadit.pipeline.Image;
import org.deltadit.weights.Safetensors;
import org.deltadit.weights.StateDict;
import org.junit.jupiter.api.Test;

/** CLIP preprocessing (Pillow's bicubic), image embeddings and the score against tools/reference/clip_reference.py. */
class ClipScoreTest {
    static final Path FOLDER = Path.of("../dit-model/src/test/resources/fixtures/tiny_clip"), FIX = Path.of("../dit-model/src/test/resources/fixtures/clip.safetensors");
    static final String[] PROMPTS = {"a photo of a cat", "A PHOTO of  two   dogs, running!", "it's 3 o'clock &amp; we're late", "café crème brûlée 🍰 naïve",
        "the ".repeat(75) + "the end", ""};

    static Image png(Path f) throws IOException {
        BufferedImage b = ImageIO.read(f.toFile());
        byte[] px = new byte[b.getWidth() * b.getHeight() * 3];
        for (int y = 0; y < b.getHeight(); y++) {
            for (int x = 0; x < b.getWidth(); x++) {
                int rgb = b.getRGB(x, y), o = (y * b.getWidth() + x) * 3;
                px[o] = (byte) (rgb >> 16);
                px[o + 1] = (byte) (rgb >> 8);
                px[o + 2] = (byte) rgb;
            }
        }
        return new Image(b.getWidth(), b.getHeight(), 3, px);
    }

    @Test
    void preprocessingEmbeddingsAndScoreMatchPyTorchAndPillow() throws IOException {
        ClipScorer clip = ClipScorer.open(FOLDER, new CpuBackend(2));
        List<Image> images = List.of(png(FOLDER.resolve("image0.png")), png(FOLDER.resolve("image1.png"))); // 80×64 (enlarged), 260×300 (shrunk)
        try (StateDict sd = Safetensors.open(FIX)) {
            Tensor pixels = clip.preprocess(images);
            assertEquals("[2, 3, 224, 224]", pixels.shapeString());
            QualityTest.assertClose(sd.tensor("pixels_rows_96_128").toFloatArray(), pixels.slice(2, 96, 128).contiguous().toFloatArray(), "pixels (Pillow's bicubic)");
            Tensor embeds = clip.model().encodeImage(pixels);
            QualityTest.assertClose(sd.tensor("image_embeds").toFloatArray(), embeds.toFloatArray(), "image embeds");
            int[] best = {(int) sd.tensor("best").get(0), (int) sd.tensor("best").get(1)};
            double[] s = clip.scores(images, List.of(PROMPTS[best[0]], PROMPTS[best[1]]));
            assertEquals(sd.tensor("clip_score").get(0), (s[0] + s[1]) / 2, 1e-3, "CLIP score of the pairs");
            for (int i = 0; i < 2; i++) assertEquals(100 * sd.tensor("cos").get(i, best[i]), s[i], 1e-3, "pair " + i);
        }
        assertThrows(IllegalArgumentException.class, () -> clip.scores(List.of(png(FOLDER.resolve("image0.png"))), List.of("a", "b")));
    }

    @Test
    void anotherNetworksFolderIsOneClearError() {
        var e = assertThrows(org.deltadit.weights.CheckpointException.class, () -> ClipScorer.open(Path.of("../models/demo"), new CpuBackend(1)));
        assertTrue(e.getMessage().contains("neither text_model.* nor vision_model.* weights (not a CLIP model)"), e.getMessage());
    }

    @Test
    void aNegativeCosineScoresZero() {
        double[] s = ClipScorer.scores(Tensor.of(new float[] {1, 0, 0, 1}, 2, 2), Tensor.of(new float[] {-1, 0, 1, 1}, 2, 2));
        assertEquals(0, s[0], 0);
        assertEquals(100 / Math.sqrt(2), s[1], 1e-9);
    }
}
