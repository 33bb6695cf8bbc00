package org.deltadit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.deltadit.engine.DType;
import org.deltadit.engine.Tensor;
import org.deltadit.weights.Safetensors;
import org.deltadit.weights.StateDict;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** dit quantize → dit info → dit generate, on the demo model and on the tiny fixtures in both DiT layouts. */
class QuantizeTest {
    @TempDir Path dir;

    @Test
    void theDemoModelRoundTripsAndItsDigitsStayCloseToF32() throws IOException {
        Path q = dir.resolve("demo-int8");
        MainTest.Run r = MainTest.run("quantize", "--model", "../models/demo", "--out", q.toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().startsWith("quantized 140 weights to INT8, kept 152 tensors as stored"), r.out());
        try (StateDict sd = Safetensors.open(q.resolve("dit.safetensors"))) {
            assertEquals(140, sd.quantizedCount());
            assertTrue(!sd.has("blocks.0.attn.qkv.weight_scale") && sd.has("blocks.0.attn.qkv.weight"), "scales paired, not keys of their own");
            assertEquals(DType.I8, sd.tensor("blocks.27.mlp.fc2.weight").dtype());
            assertEquals(DType.F32, sd.tensor("final_layer.linear.weight").dtype(), "the final layer stays as stored");
            assertEquals(DType.F32, sd.tensor("y_embedder.embedding_table.weight").dtype());
        }
        assertTrue(Files.readString(q.resolve("config.json")).contains("\"quant_method\": \"dit-int8\""));
        assertTrue(Files.isSymbolicLink(q.resolve("classifier.safetensors")), "the folder's other files come along as links");
        assertTrue(Files.size(q.resolve("dit.safetensors")) * 3 < Files.size(Path.of("../models/demo/dit.safetensors")), "block weights at a quarter of F32");

        MainTest.Run info = MainTest.run("info", "--model", q.toString());
        assertEquals(0, info.status(), info.err());
        assertTrue(info.out().contains("quantized:    140 weights INT8"), info.out());
        assertTrue(info.out().contains("architecture: DiT (depth 28, hidden 96"), info.out());

        Path a = dir.resolve("f32.safetensors"), b = dir.resolve("int8.safetensors");
        String[] common = {"generate", "--class", "3,7", "--steps", "6", "--threads", "2", "--seed", "5", "--save-latent"};
        MainTest.Run full = MainTest.run(MainTest.concat(common, a.toString(), "--model", "../models/demo", "--out", dir.resolve("a.png").toString()));
        MainTest.Run int8 = MainTest.run(MainTest.concat(common, b.toString(), "--model", q.toString(), "--out", dir.resolve("b.png").toString()));
        assertEquals(0, full.status(), full.err());
        assertEquals(0, int8.status(), int8.err());
        double psnr = MainTest.samplesPsnr(MainTest.savedLatent(a), MainTest.savedLatent(b));
        assertTrue(psnr < Double.POSITIVE_INFINITY, "INT8 weights change the numbers");
        assertTrue(psnr > 25, "INT8 digits within " + psnr + " dB of F32 (same seeds)");

        // bench compare measures the INT8 rows against the F32 model's full compute
        MainTest.Run cmp = MainTest.run("bench", "compare", "--model", q.toString(), "--reference-model", "../models/demo", "--rows", "full,delta-dit",
                "--count", "2", "--steps", "6", "--threads", "2", "--json");
        assertEquals(0, cmp.status(), cmp.err());
        java.util.List<String> rows = cmp.out().lines().toList();
        assertEquals(2, rows.size(), cmp.out());
        double fullPsnr = Double.parseDouble(rows.get(0).replaceAll(".*\"psnr\":([0-9.]+).*", "$1"));
        assertTrue(fullPsnr > 25 && fullPsnr < 100, "INT8 full compute against F32: " + fullPsnr + " dB, neither identical nor far");
        MainTest.Run self = MainTest.run("bench", "compare", "--model", "../models/demo", "--reference-model", "../models/demo", "--rows", "full", "--count", "1", "--steps", "4", "--threads", "2");
        assertEquals(0, self.status(), self.err());
        assertTrue(self.out().contains("PSNR/SSIM against Full (T = 4) on ../models/demo") && self.out().contains("| 100.00 | 1.0000 |"), self.out());
    }

    @Test
    void bothDitLayoutsAndGroupsLoadAfterQuantizing() {
        Path official = dir.resolve("official"), diffusers = dir.resolve("diffusers");
        MainTest.Run a = MainTest.run("quantize", "--model", MainTest.FIX + "tiny_dit.pt", "--out", official.toString(), "--group-size", "8");
        assertEquals(0, a.status(), a.err());
        assertTrue(Files.exists(official.resolve("tiny_dit.safetensors")), a.out());
        MainTest.Run ga = MainTest.run("generate", "--model", official.toString(), "--heads", "2", "--steps", "2", "--class", "1",
                "--save-latent", dir.resolve("o.safetensors").toString());
        assertEquals(0, ga.status(), ga.err());
        // diffusers keeps q, k and v apart: they are quantized apart and joined (still INT8) when loaded
        MainTest.Run b = MainTest.run("quantize", "--model", MainTest.FIX + "tiny_dit_diffusers", "--out", diffusers.toString());
        assertEquals(0, b.status(), b.err());
        assertTrue(Files.exists(diffusers.resolve("transformer/diffusion_pytorch_model.safetensors")));
        assertTrue(Files.exists(diffusers.resolve("model_index.json")));
        MainTest.Run info = MainTest.run("info", "--model", diffusers.toString());
        assertTrue(info.out().contains("DiT, diffusers layout") && info.out().contains("weights INT8"), info.out());
        MainTest.Run gb = MainTest.run("generate", "--model", diffusers.toString(), "--steps", "2", "--class", "1",
                "--save-latent", dir.resolve("d.safetensors").toString());
        assertEquals(0, gb.status(), gb.err());
        MainTest.Run again = MainTest.run("quantize", "--model", diffusers.toString(), "--out", dir.resolve("twice").toString());
        assertEquals(2, again.status());
        assertTrue(again.err().contains("already INT8"), again.err());
    }

    @Test
    void aNonFiniteWeightIsNamedAndLeavesNoOutput() throws IOException {
        // found while writing (the weights are quantized one at a time as they are written), so after the progress line
        Path nan = dir.resolve("nan.safetensors"), out = dir.resolve("q");
        try (StateDict sd = Safetensors.open(Path.of(MainTest.FIX + "tiny_dit.safetensors"))) {
            java.util.Map<String, Tensor> w = new java.util.LinkedHashMap<>();
            for (String k : sd.keys()) w.put(k, sd.tensor(k));
            float[] v = w.get("blocks.1.mlp.fc2.weight").toFloatArray();
            v[5] = Float.NaN;
            w.put("blocks.1.mlp.fc2.weight", Tensor.of(v, w.get("blocks.1.mlp.fc2.weight").shape()));
            org.deltadit.weights.SafetensorsWriter.write(nan, w, null);
        }
        MainTest.Run r = MainTest.run("quantize", "--model", nan.toString(), "--out", out.toString());
        assertEquals(2, r.status(), r.err());
        java.util.List<String> lines = r.err().strip().lines().toList();
        assertTrue(lines.getLast().startsWith("dit: ") && lines.getLast().contains("'blocks.1.mlp.fc2.weight' has a non-finite weight NaN at element 5"), r.err());
        assertTrue(lines.size() == 2 && lines.getFirst().startsWith("quantize: "), "the progress line, then the error: " + r.err());
        try (java.util.stream.Stream<Path> left = Files.list(dir)) {
            assertEquals(java.util.List.of(nan), left.toList(), "no output folder, nothing temporary");
        }
    }

}
