package org.deltadit.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Predicate;
import org.deltadit.cache.CachePolicy;
import org.deltadit.cache.CacheSpec;
import org.deltadit.engine.InvalidParameter;
import org.deltadit.engine.Tensor;
import org.deltadit.weights.Safetensors;
import org.deltadit.weights.SafetensorsWriter;
import org.deltadit.weights.StateDict;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The library API on the tiny DiT and PixArt fixtures: concurrency, determinism, the latent-model factor, T-GATE's figures. */
class PipelineTest {
    static final Path DIT = Path.of("../weights/src/test/resources/fixtures/tiny_dit.pt");
    static final String MODEL_FIX = "../dit-model/src/test/resources/fixtures/";
    @TempDir Path dir;
    Path vae;

    @BeforeEach
    void tinyVae() throws IOException {
        vae = Files.createDirectories(dir.resolve("vae"));
        SafetensorsWriter.copy(Path.of(MODEL_FIX + "tiny_vae.safetensors"), vae.resolve("diffusion_pytorch_model.safetensors"), k -> k.startsWith("w."), "w.");
        Files.writeString(vae.resolve("config.json"), "{\"block_out_channels\": [16, 32], \"layers_per_block\": 1, \"norm_num_groups\": 8, \"latent_channels\": 4, \"out_channels\": 3}");
    }

    Pipeline dit(String device) {
        return Pipeline.open(ModelSpec.builder().model(DIT).heads(2).vae(vae).device(device).threads(2).build());
    }

    static GenerationRequest cachedDpm() {
        return GenerationRequest.builder().classes(1, 2).seed(3).steps(6).cache(CacheSpec.Named.of("delta-dit")).keepLatents(true).build();
    }

    static GenerationRequest stochasticLcm() {
        return GenerationRequest.builder().classes(4).count(3).batch(2).seed(7).steps(5).sampler("lcm").keepLatents(true).build();
    }

    @Test
    void twoThreadsAtOnceGiveTheSameImagesAsTwoSequentialRuns() throws Exception {
        // the reference backend is bit-exact from run to run, so any state shared between requests would show
        try (Pipeline p = dit("reference")) {
            GenerationResult a = p.generate(cachedDpm(), null), b = p.generate(stochasticLcm(), null);
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                for (int round = 0; round < 2; round++) {
                    CountDownLatch go = new CountDownLatch(1);
                    Future<GenerationResult> fa = pool.submit(() -> { go.await(); return p.generate(cachedDpm(), null); });
                    Future<GenerationResult> fb = pool.submit(() -> { go.await(); return p.generate(stochasticLcm(), null); });
                    go.countDown();
                    sameImages(a, fa.get());
                    sameImages(b, fb.get());
                }
            } finally {
                pool.shutdown();
            }
            assertEquals(3, b.images().size());
            assertEquals(16, a.images().get(0).width(), "8×8 latents through a factor-2 VAE");
        }
    }

    @Test
    void concurrentRunsOnTheCpuBackendAgreeWithSequentialOnes() throws Exception {
        try (Pipeline p = dit("cpu")) {
            GenerationResult a = p.generate(cachedDpm(), null), b = p.generate(stochasticLcm(), null);
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                Future<GenerationResult> fa = pool.submit(() -> p.generate(cachedDpm(), null));
                Future<GenerationResult> fb = pool.submit(() -> p.generate(stochasticLcm(), null));
                // the vector kernels may differ in the last ulp from run to run (issue 13); the latents agree far below any shared-state error
                close(a.latents(), fa.get().latents());
                close(b.latents(), fb.get().latents());
            } finally {
                pool.shutdown();
            }
        }
    }

    @Test
    void imageNoiseDependsOnlyOnSeedAndIndex() {
        try (Pipeline p = dit("reference")) {
            GenerationRequest.Builder r = GenerationRequest.builder().classes(3, 5, 7).seed(11).steps(3).sampler("lcm").keepLatents(true);
            GenerationResult one = p.generate(r.batch(1).build(), null), three = p.generate(r.batch(3).build(), null);
            assertArrayEquals(one.latents().toFloatArray(), three.latents().toFloatArray(), "batch size changes nothing, fresh LCM noise included");
            GenerationResult firstTwo = p.generate(GenerationRequest.builder().classes(3, 5).seed(11).steps(3).sampler("lcm").keepLatents(true).build(), null);
            assertArrayEquals(firstTwo.latents().toFloatArray(), three.latents().slice(0, 0, 2).toFloatArray(), "image i does not depend on the images after it");
        }
    }

    @Test
    void aRunSplitIntoPartsMakesTheImagesOfTheWhole() {
        try (Pipeline p = dit("cpu")) {
            for (boolean listed : new boolean[] {true, false}) { // classes in turn, and classes drawn from the seed
                GenerationRequest.Builder r = GenerationRequest.builder().seed(5).steps(3).sampler("lcm").keepLatents(true);
                GenerationResult whole = p.generate((listed ? r.classes(1, 2, 3) : r).count(5).build(), null);
                GenerationResult head = p.generate((listed ? r.classes(1, 2) : r).count(2).firstImage(0).build(), null);
                GenerationResult tail = p.generate((listed ? r.classes(3, 1, 2) : r).count(3).firstImage(2).build(), null); // each part lists its own classes
                assertArrayEquals(whole.latents().slice(0, 0, 2).toFloatArray(), head.latents().toFloatArray(), "images 0, 1");
                assertArrayEquals(whole.latents().slice(0, 2, 5).toFloatArray(), tail.latents().toFloatArray(), "images 2..4: noise, fresh LCM noise and classes of the whole run");
                assertArrayEquals(java.util.Arrays.copyOfRange(whole.labels(), 2, 5), tail.labels());
                r.firstImage(0);
            }
        }
    }

    @Test
    void clipSampleClampsTheSamplersX0() {
        try (Pipeline p = dit("cpu")) {
            GenerationRequest.Builder r = GenerationRequest.builder().classes(1, 4).seed(2).steps(3).keepLatents(true).decode(false);
            float[] plain = p.generate(r.build(), null).latents().toFloatArray();
            assertArrayEquals(plain, p.generate(r.clipSample(1e6).build(), null).latents().toFloatArray(), "a range nothing reaches changes nothing");
            float[] tight = p.generate(r.clipSample(0.01).build(), null).latents().toFloatArray();
            boolean outside = false;
            for (float v : plain) outside |= Math.abs(v) > 0.01f;
            assertTrue(outside, "the unclamped run already stays within ±0.01: the test shows nothing");
            for (float v : tight) assertTrue(Math.abs(v) <= 0.01f + 1e-7f, "dpm-solver++ ends on the clamped x0: " + v);
            InvalidParameter e = assertThrows(InvalidParameter.class, () -> p.generate(r.sampler("euler").build(), null));
            assertEquals("clipSample: applies to ddpm, ddim and dpm-solver++, not euler", e.getMessage());
        }
    }

    @Test
    void thresholdingReachesTheSampler() {
        try (Pipeline p = dit("cpu")) {
            GenerationRequest.Builder r = GenerationRequest.builder().classes(1, 4).seed(2).steps(3).keepLatents(true).decode(false);
            float[] plain = p.generate(r.build(), null).latents().toFloatArray();
            float[] clamped = p.generate(r.clipSample(1.0).build(), null).latents().toFloatArray();
            // max value 1: the clamp to ±1 (the request's x0 reaches past 1, or the comparison shows nothing)
            float[] one = p.generate(r.clipSample(null).thresholding(new org.deltadit.sampler.Thresholding(0.9, 1)).build(), null).latents().toFloatArray();
            assertTrue(!java.util.Arrays.equals(plain, clamped), "this model's x0 stays within ±1: the test shows nothing");
            assertArrayEquals(clamped, one);
            float[] wide = p.generate(r.thresholding(new org.deltadit.sampler.Thresholding(0.5, 3)).build(), null).latents().toFloatArray();
            assertTrue(!java.util.Arrays.equals(clamped, wide), "the max value reached the sampler");
            InvalidParameter e = assertThrows(InvalidParameter.class, () -> r.clipSample(1.0).build());
            assertEquals("thresholding", e.parameter());
        }
    }

    static void sameImages(GenerationResult want, GenerationResult got) {
        assertArrayEquals(want.latents().toFloatArray(), got.latents().toFloatArray());
        assertEquals(want.images().size(), got.images().size());
        for (int i = 0; i < want.images().size(); i++) assertArrayEquals(want.images().get(i).pixels(), got.images().get(i).pixels(), "image " + i);
        assertEquals(want.cacheHits(), got.cacheHits());
    }

    static void close(Tensor want, Tensor got) {
        double rel = org.deltadit.engine.Compare.relativeMaxError(want.toFloatArray(), got.toFloatArray());
        assertTrue(rel <= 1e-5, "max error " + rel + " × max |expected|");
    }

    /** A tiny PixArt-MS (original layout, native 8×8 latents) without a VAE, and caption features for it. */
    Path pixart() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("pixart"));
        SafetensorsWriter.copy(Path.of(MODEL_FIX + "tiny_pixart_forward.safetensors"), folder.resolve("model.safetensors"), k -> k.startsWith("w."), "w.");
        Files.writeString(folder.resolve("config.json"), "{\"arch\": \"PixArtMS\", \"num_heads\": 4, \"input_size\": 8, \"lewei_scale\": 2.0, \"depth\": 3}");
        return folder;
    }

    Path captions() {
        Path caps = dir.resolve("caps.safetensors");
        float[] e = new float[6 * 32];
        for (int i = 0; i < e.length; i++) e[i] = (float) Math.sin(i);
        SafetensorsWriter.write(caps, Map.of("embeds", Tensor.of(e, 1, 6, 32), "mask", Tensor.of(new float[] {1, 1, 1, 0, 0, 0}, 1, 6)), null);
        return caps;
    }

    @Test
    void aLatentModelWithoutAVaeKeepsTheFactorOf8() throws IOException {
        // before: no VAE meant "pixel space", so 64 px asked for 64×64 noise and micro-conditions of the latent size
        try (Pipeline p = Pipeline.open(ModelSpec.builder().model(pixart()).imageSize(64).threads(2).build())) {
            assertEquals(8, p.vaeFactor());
            assertEquals(8, p.config().inputSize(), "64 px is 8×8 latents");
            assertEquals(64, p.imageSize(), "the micro-conditions are the pixel size");
            assertTrue(!p.canDecode());
            GenerationResult r = p.generate(GenerationRequest.builder().textEmbeddings(captions()).steps(2).decode(false).keepLatents(true).build(), null);
            assertArrayEquals(new int[] {1, 4, 8, 8}, r.latents().shape());
            InvalidParameter e = assertThrows(InvalidParameter.class, () -> p.validate(GenerationRequest.builder().textEmbeddings(captions()).build()));
            assertEquals("vae", e.parameter(), "decoding 4-channel latents needs a VAE");
        }
        assertEquals(8, Pipeline.config(ModelSpec.builder().model(pixart()).imageSize(64).build()).inputSize(), "plans use the same factor");
    }

    @Test
    void tgateIsAPolicyWithItsHitsAndBytes() throws IOException {
        try (Pipeline p = Pipeline.open(ModelSpec.builder().model(pixart()).threads(2).build())) {
            GenerationRequest.Builder r = GenerationRequest.builder().textEmbeddings(captions()).steps(5).decode(false).keepLatents(true);
            GenerationResult gated = p.generate(r.cache(new CacheSpec.Fixed(new CachePolicy.TGate(2))).build(), null);
            assertEquals(3, gated.cacheHits(), "steps 3, 4, 5 take the kept cross-attention");
            // 3 blocks × 1 image × 16 tokens × hidden 48, F32, averaged over the two guidance branches
            assertEquals(3L * 16 * 48 * 4, gated.cacheBytes());
            assertTrue(gated.macs() < gated.macsUncached(), "single-branch steps without cross-attention cost less");
            GenerationResult full = p.generate(r.cache(CacheSpec.NONE).build(), null);
            assertEquals(0, full.cacheHits());
            assertTrue(!java.util.Arrays.equals(full.latents().toFloatArray(), gated.latents().toFloatArray()));
            for (GenerationResult g : new GenerationResult[] {gated, full}) blockTimeIsPartOfEachStep(g);
        }
    }

    /** The wall-clock split: every step's time inside the blocks (T-GATE's split parts included) is some of that step's time, never more. */
    static void blockTimeIsPartOfEachStep(GenerationResult g) {
        assertEquals(g.stepSeconds().length, g.stepBlockSeconds().length);
        for (int i = 0; i < g.stepSeconds().length; i++) {
            assertTrue(g.stepBlockSeconds()[i] > 0 && g.stepBlockSeconds()[i] <= g.stepSeconds()[i], "step " + i + ": " + g.stepBlockSeconds()[i] + " s of " + g.stepSeconds()[i] + " s in blocks");
        }
        assertTrue(g.blockSeconds() <= g.seconds());
    }

    @Test
    void badRequestsCannotBeBuiltAndNameTheirField() {
        Map<String, Runnable> bad = new LinkedHashMap<>();
        bad.put("count", () -> GenerationRequest.builder().count(0).build());
        bad.put("batch", () -> GenerationRequest.builder().batch(0).build());
        bad.put("steps", () -> GenerationRequest.builder().steps(0).build());
        bad.put("cfg", () -> GenerationRequest.builder().cfg(Double.NaN).build());
        bad.put("sampler", () -> GenerationRequest.builder().sampler("heun").build());
        bad.put("spacing", () -> GenerationRequest.builder().spacing("karras").build());
        bad.put("classes", () -> GenerationRequest.builder().classes(List.of()).build());
        bad.put("firstImage", () -> GenerationRequest.builder().firstImage(-1).build());
        bad.put("eta", () -> GenerationRequest.builder().eta(2.0).build());
        bad.put("finalSigma", () -> GenerationRequest.builder().finalSigma("max").build());
        bad.put("clipSample", () -> GenerationRequest.builder().clipSample(0.0).build());
        bad.put("thresholding", () -> GenerationRequest.builder().thresholding(org.deltadit.sampler.Thresholding.parse("0.9,0.2")).build());
        bad.put("cacheBf16", () -> GenerationRequest.builder().cacheBf16(true).build());
        bad.put("textEmbeddings", () -> GenerationRequest.builder().prompts("a").textEmbeddings(Path.of("x")).build());
        bad.put("cachedBlocks", () -> new CacheSpec.Named("delta-cache", null, null, 3, null, null, false, null));
        bad.put("range", () -> CacheSpec.Named.of("skip").resolve(20, Pipeline.config(ModelSpec.builder().randomWeights(true).arch("DiT-S/2").build()), 2)
                .step(1, 20, 12)); // middle of 12 blocks is fine: this one must not throw
        bad.put("threads", () -> ModelSpec.builder().model(DIT).threads(0).build());
        bad.put("device", () -> Pipeline.open(ModelSpec.builder().model(DIT).heads(2).device("tpu").build()));
        List<String> wrong = new ArrayList<>();
        for (Map.Entry<String, Runnable> e : bad.entrySet()) {
            if (e.getKey().equals("range")) {
                e.getValue().run();
                continue;
            }
            InvalidParameter x = assertThrows(InvalidParameter.class, e.getValue()::run, e.getKey());
            if (!x.parameter().equals(e.getKey())) wrong.add(e.getKey() + " → " + x.getMessage());
        }
        assertTrue(wrong.isEmpty(), String.join("; ", wrong));
        try (Pipeline p = dit("cpu")) {
            InvalidParameter e = assertThrows(InvalidParameter.class, () -> p.validate(GenerationRequest.builder().classes(10).build()));
            assertEquals("classes: 10 outside [0, 10)", e.getMessage());
            assertEquals("guideChannels", assertThrows(InvalidParameter.class, () -> p.validate(GenerationRequest.builder().guideChannels(5).build())).parameter());
            assertEquals("prompts", assertThrows(InvalidParameter.class, () -> p.validate(GenerationRequest.builder().prompts("a cat").build())).parameter());
            assertEquals("cache", assertThrows(InvalidParameter.class, () -> p.validate(GenerationRequest.builder().cache(CacheSpec.Named.of("tgate")).build())).parameter());
        }
    }
}
