package org.deltadit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.deltadit.engine.DType;
import org.deltadit.engine.Tensor;
import org.deltadit.weights.Safetensors;
import org.deltadit.weights.StateDict;
import org.deltadit.weights.TensorEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** dit convert → dit info → dit generate: the demo model to BF16 and back, both DiT layouts, and what it refuses. */
class ConvertTest {
    @TempDir Path dir;

    @Test
    void theDemoModelInBf16IsRoundedAsPyTorchRoundsAndStillGenerates() throws IOException {
        Path bf = dir.resolve("demo-bf16");
        MainTest.Run r = MainTest.run("convert", "--model", "../models/demo", "--out", bf.toString(), "--dtype", "bf16");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().startsWith("converted 292 tensors to BF16, kept 0 as stored"), r.out());
        assertTrue(Files.isSymbolicLink(bf.resolve("classifier.safetensors")), "the folder's other files come along as links");
        assertTrue(Files.exists(bf.resolve("config.json")));
        try (StateDict src = Safetensors.open(Path.of("../models/demo/dit.safetensors")); StateDict out = Safetensors.open(bf.resolve("dit.safetensors"))) {
            assertEquals(src.keys(), out.keys());
            for (TensorEntry e : src.entries()) {
                Tensor t = out.tensor(e.name());
                assertEquals(DType.BF16, t.dtype(), e.name());
                assertArrayEquals(e.shape(), t.shape(), e.name());
                // each value rounded to nearest, ties to even (DType.floatToBf16), not truncated
                float[] want = e.tensor().to(DType.BF16).toFloatArray(), got = t.toFloatArray();
                assertArrayEquals(want, got, e.name());
            }
            float[] w = src.tensor("blocks.0.mlp.fc1.weight").toFloatArray(), b = out.tensor("blocks.0.mlp.fc1.weight").toFloatArray();
            int truncatedDiffers = 0;
            for (int i = 0; i < w.length; i++) if (Float.intBitsToFloat(Float.floatToRawIntBits(w[i]) & 0xFFFF0000) != b[i]) truncatedDiffers++;
            assertTrue(truncatedDiffers > w.length / 4, "rounded, not cut: " + truncatedDiffers + " of " + w.length);
        }
        MainTest.Run info = MainTest.run("info", "--model", bf.toString());
        assertEquals(0, info.status(), info.err());
        assertTrue(info.out().contains("architecture: DiT (depth 28, hidden 96") && info.out().contains("BF16"), info.out());

        // the same seeds give nearly the same digits
        Path a = dir.resolve("f32.safetensors"), b = dir.resolve("bf16.safetensors");
        String[] common = {"generate", "--class", "3,7", "--steps", "6", "--threads", "2", "--seed", "5", "--save-latent"};
        assertEquals(0, MainTest.run(MainTest.concat(common, a.toString(), "--model", "../models/demo", "--out", dir.resolve("a.png").toString())).status());
        MainTest.Run g = MainTest.run(MainTest.concat(common, b.toString(), "--model", bf.toString(), "--out", dir.resolve("b.png").toString()));
        assertEquals(0, g.status(), g.err());
        double psnr = MainTest.samplesPsnr(MainTest.savedLatent(a), MainTest.savedLatent(b));
        assertTrue(psnr < Double.POSITIVE_INFINITY && psnr > 30, "BF16 digits " + psnr + " dB from F32's (same seeds)");

        // and back to F32: the BF16 values exactly, at F32's size
        Path back = dir.resolve("back");
        MainTest.Run f = MainTest.run("convert", "--model", bf.toString(), "--out", back.toString(), "--dtype", "F32");
        assertEquals(0, f.status(), f.err());
        try (StateDict s16 = Safetensors.open(bf.resolve("dit.safetensors")); StateDict s32 = Safetensors.open(back.resolve("dit.safetensors"))) {
            assertEquals(DType.F32, s32.tensor("blocks.5.attn.qkv.weight").dtype());
            assertArrayEquals(s16.tensor("blocks.5.attn.qkv.weight").toFloatArray(), s32.tensor("blocks.5.attn.qkv.weight").toFloatArray());
        }
        assertTrue(Files.isSymbolicLink(back.resolve("classifier.safetensors")));
    }

    @Test
    void bothDitLayoutsConvertAndLoad() {
        Path official = dir.resolve("official"), diffusers = dir.resolve("diffusers");
        MainTest.Run a = MainTest.run("convert", "--model", MainTest.FIX + "tiny_dit.pt", "--out", official.toString(), "--dtype", "f16");
        assertEquals(0, a.status(), a.err());
        assertTrue(Files.exists(official.resolve("tiny_dit.safetensors")), a.out());
        MainTest.Run ga = MainTest.run("generate", "--model", official.toString(), "--heads", "2", "--steps", "2", "--class", "1", "--save-latent", dir.resolve("o.safetensors").toString());
        assertEquals(0, ga.status(), ga.err());
        MainTest.Run b = MainTest.run("convert", "--model", MainTest.FIX + "tiny_dit_diffusers", "--out", diffusers.toString(), "--dtype", "bfloat16");
        assertEquals(0, b.status(), b.err());
        assertTrue(Files.exists(diffusers.resolve("transformer/diffusion_pytorch_model.safetensors")));
        assertTrue(Files.exists(diffusers.resolve("model_index.json")));
        MainTest.Run info = MainTest.run("info", "--model", diffusers.toString());
        assertTrue(info.out().contains("DiT, diffusers layout") && info.out().contains("BF16"), info.out());
        MainTest.Run gb = MainTest.run("generate", "--model", diffusers.toString(), "--steps", "2", "--class", "1", "--save-latent", dir.resolve("d.safetensors").toString());
        assertEquals(0, gb.status(), gb.err());

        MainTest.Run again = MainTest.run("convert", "--model", diffusers.toString(), "--out", dir.resolve("twice").toString(), "--dtype", "bf16");
        assertEquals(2, again.status());
        assertTrue(again.err().contains("every floating-point tensor is already BF16"), again.err());
        assertFalse(Files.exists(dir.resolve("twice")) && dir.resolve("twice").toFile().list().length > 0, "no partial output");
    }

    @Test
    void aPixArtRepositoryConvertsItsTransformerAndLinksTheRest() throws IOException {
        Path repo = PixArtGenerateTest.tinyRepository(dir), bf = dir.resolve("pixart-bf16");
        MainTest.Run r = MainTest.run("convert", "--model", repo.toString(), "--out", bf.toString(), "--dtype", "bf16");
        assertEquals(0, r.status(), r.err());
        try (StateDict sd = Safetensors.open(bf.resolve("transformer/diffusion_pytorch_model.safetensors"))) {
            for (TensorEntry e : sd.entries()) assertEquals(DType.BF16, e.tensor().dtype(), e.name());
        }
        for (String part : new String[] {"text_encoder", "tokenizer", "vae"}) assertTrue(Files.isSymbolicLink(bf.resolve(part)), part);
        MainTest.Run g = MainTest.run("generate", "--model", bf.toString(), "--prompt", "a small cat", "--steps", "2", "--threads", "2", "--out", dir.resolve("cat.png").toString());
        assertEquals(0, g.status(), g.err());
        assertTrue(Files.size(dir.resolve("cat.png")) > 0);
    }

    @Test
    void badInputIsOneLineAndWritesNothing() throws IOException {
        MainTest.Run dtype = MainTest.run("convert", "--model", "../models/demo", "--out", dir.resolve("x").toString(), "--dtype", "int8");
        assertEquals(2, dtype.status());
        assertEquals(1, dtype.err().strip().lines().count(), dtype.err());
        assertTrue(dtype.err().contains("--dtype: 'int8' (f32, f16 or bf16; INT8 weights: dit quantize)"), dtype.err());
        assertFalse(Files.exists(dir.resolve("x")));

        Path full = Files.createDirectories(dir.resolve("full"));
        Files.writeString(full.resolve("keep.txt"), "mine");
        MainTest.Run exists = MainTest.run("convert", "--model", "../models/demo", "--out", full.toString(), "--dtype", "bf16");
        assertEquals(2, exists.status());
        assertTrue(exists.err().contains("exists (give a new folder, or an empty one)"), exists.err());

        Path q = dir.resolve("q");
        assertEquals(0, MainTest.run("quantize", "--model", MainTest.FIX + "tiny_dit.pt", "--out", q.toString()).status());
        MainTest.Run int8 = MainTest.run("convert", "--model", q.toString(), "--out", dir.resolve("y").toString(), "--dtype", "bf16");
        assertEquals(2, int8.status());
        assertTrue(int8.err().contains("convert the model they were quantized from"), int8.err());
        assertFalse(Files.exists(dir.resolve("y")));

        MainTest.Run missing = MainTest.run("convert", "--model", dir.resolve("nothing.safetensors").toString(), "--out", dir.resolve("z").toString(), "--dtype", "bf16");
        assertEquals(2, missing.status());
        assertEquals(1, missing.err().strip().lines().count(), missing.err());
    }
}
