package org.deltadit.dit;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.deltadit.engine.Backend;
import org.deltadit.engine.DType;
import org.deltadit.engine.Tensor;
import org.deltadit.weights.Checkpoint;
import org.deltadit.weights.CheckpointException;
import org.deltadit.weights.CheckpointFormat;
import org.deltadit.weights.DitConfig;
import org.deltadit.weights.KeyMap;
import org.deltadit.weights.PixArtConfig;
import org.deltadit.weights.T5Config;

/**
 * Builds every network the pipeline runs — DiT, PixArt-α, the T5 encoder, the VAE decoder — from what
 * the user names: a checkpoint path, or an architecture with random weights.
 */
public final class ModelLoader {
    private ModelLoader() {}

    /** A DiT from a checkpoint (any supported layout); the weights stay memory-mapped. */
    public static DitModel dit(Checkpoint ck, DitConfig.Overrides overrides, Backend be) {
        DitConfig cfg = ck.ditConfig(overrides);
        if (cfg.inputSize() <= 0) throw new CheckpointException(ck.weights().source() + ": the input size is unknown; give --image-size");
        return new DitModel(cfg, KeyMap.canonical(ck.weights(), ck.format()), be);
    }

    /**
     * Random weights of a DiT architecture (for timing without a checkpoint), stored as {@code dtype}
     * (BF16 keeps DiT-XL/2 at 1.35 GB; F32 to compare with PyTorch's float32 modules).
     */
    public static DitModel random(DitConfig cfg, long seed, DType dtype, Backend be) {
        return new DitModel(cfg, randomWeights(cfg.expectedShapes(), seed, dtype), be);
    }

    /**
     * Random weights (BF16 by default) of a PixArt-α architecture, for timing without a checkpoint; the
     * null caption is included so the original layout's unconditional branch works.
     */
    public static PixArtModel randomPixArt(PixArtConfig cfg, long seed, DType dtype, Backend be) {
        Map<String, int[]> shapes = new LinkedHashMap<>(cfg.expectedShapes());
        shapes.put("y_embedder.y_embedding", new int[] {cfg.maxTokens(), cfg.captionChannels()});
        return new PixArtModel(cfg, randomWeights(shapes, seed, dtype), be);
    }

    /**
     * Uniform in ±0.035 (standard deviation 0.02), so activations stay finite through all blocks; native memory,
     * read-only. I8 makes the block linears INT8 as {@code dit quantize} would (same selection, per output
     * channel) and the rest F32, from the same values as F32; each F32 original is freed once quantized.
     */
    static Map<String, Tensor> randomWeights(Map<String, int[]> shapes, long seed, DType dtype) {
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, Tensor> w = new LinkedHashMap<>();
        for (Map.Entry<String, int[]> e : shapes.entrySet()) {
            boolean int8 = dtype == DType.I8 && org.deltadit.weights.Int8Weights.eligible(e.getKey(), e.getValue());
            DType stored = dtype == DType.I8 ? DType.F32 : dtype;
            java.lang.foreign.Arena arena = int8 ? java.lang.foreign.Arena.ofConfined() : java.lang.foreign.Arena.ofAuto();
            Tensor t = Tensor.zeros(arena, stored, e.getValue());
            long n = t.numel();
            float[] chunk = new float[1 << 16];
            for (long at = 0; at < n; at += chunk.length) {
                int len = (int) Math.min(chunk.length, n - at);
                // four 16-bit uniforms per 64-bit draw: DiT-XL/2 has 675 M weights
                for (int i = 0; i < len; i += 4) {
                    long bits = r.nextLong();
                    for (int j = 0; j < 4 && i + j < len; j++) chunk[i + j] = (((bits >>> (16 * j)) & 0xffff) / 65535f - 0.5f) * 0.07f;
                }
                stored.write(t.segment(), at, chunk, 0, len);
            }
            if (int8) {
                w.put(e.getKey(), sealedInt8(org.deltadit.engine.Quant.quantize(t, 0)));
                arena.close();
            } else {
                // sealed read-only, as a mapped checkpoint is: nothing may write weights, and device backends keep them resident
                w.put(e.getKey(), Tensor.wrap(t.segment().asReadOnly(), stored, e.getValue()));
            }
        }
        return w;
    }

    /** {@code q}'s values and scales copied to read-only native memory. */
    private static Tensor sealedInt8(Tensor q) {
        java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofAuto();
        java.lang.foreign.MemorySegment values = arena.allocate(q.numel(), 64).copyFrom(q.segment());
        java.lang.foreign.MemorySegment scales = arena.allocate(q.quant().scales().byteSize(), 64).copyFrom(q.quant().scales());
        return Tensor.quantized(values.asReadOnly(), q.shape(), scales.asReadOnly(), q.quant().group());
    }

    /** A PixArt-α transformer from a checkpoint (either layout); {@code imageLatent} null runs it at its native size. */
    public static PixArtModel pixart(Checkpoint ck, Integer heads, Integer imageLatent, Backend be) {
        return new PixArtModel(ck.pixartConfig(heads, imageLatent), KeyMap.canonical(ck.weights(), ck.format()), be);
    }

    /** SD3's MMDiT from a checkpoint; {@code imageLatent} null runs it at the config's sample size. */
    public static Sd3Model sd3(Checkpoint ck, Integer heads, Integer imageLatent, Backend be) {
        return new Sd3Model(ck.sd3Config(heads, imageLatent), KeyMap.canonical(ck.weights(), ck.format()), be);
    }

    /** An SD 1.x U-Net from a checkpoint (diffusers unet/ with its config.json); {@code imageLatent} null runs it at the config's sample size. */
    public static UNetModel unet(Checkpoint ck, Integer imageLatent, Backend be) {
        if (!ck.format().isUNet()) throw new CheckpointException(ck.weights().source() + ": a " + ck.format().description() + " checkpoint, not a U-Net");
        Map<String, Tensor> w = KeyMap.canonical(ck.weights(), ck.format());
        int cross = w.entrySet().stream().filter(e -> e.getKey().endsWith("attn2.to_k.weight")).mapToInt(e -> e.getValue().dim(1)).findFirst()
                .orElseThrow(() -> new CheckpointException(ck.weights().source() + ": no cross-attention (attn2.to_k.weight): not a text-conditioned U-Net"));
        return new UNetModel(org.deltadit.weights.UNetConfig.from(ck.config() == null ? Map.of() : ck.config(), ck.configSource(), cross, imageLatent), w, be);
    }

    /** F32 T5 checkpoints above this size are copied to BF16 (T5-XXL); smaller ones are used as stored. */
    static final long BF16_COPY_ABOVE = 2L << 30;

    /**
     * A T5 encoder from a folder (HF text_encoder/: config.json and sharded safetensors) or file. F32
     * checkpoints over 2 GiB are copied to BF16 off the heap and unmapped (T5-XXL: 9.5 GB resident instead
     * of 19); smaller and half-precision ones are used in place. Close the encoder to free it.
     */
    public static T5Encoder t5(Path path, Backend be) {
        Checkpoint ck = Checkpoint.open(path, null, null);
        try {
            if (ck.format() != CheckpointFormat.T5_ENCODER) {
                throw new CheckpointException(path + ": a " + ck.format().description() + " checkpoint, not a T5 encoder");
            }
            Map<String, Tensor> canon = T5Config.tied(KeyMap.canonical(ck.weights(), ck.format()));
            T5Config cfg = T5Config.resolve(ck.weights().source(), ck.configSource(), canon, ck.config());
            // a large F32 encoder (T5-XXL: 19 GB) is kept as BF16; a small one as stored, exactly
            boolean f32 = canon.get("shared.weight").dtype() == DType.F32 && ck.weights().fileBytes() > BF16_COPY_ABOVE;
            if (f32) return T5Encoder.bf16Copy(cfg, canon, be);
            T5Encoder enc = T5Encoder.owning(cfg, canon, be, ck); // reads the mapping, unmaps it on close
            ck = null;
            return enc;
        } finally {
            if (ck != null) ck.close();
        }
    }

    /** A VAE decoder from a folder (config.json + weights), a diffusers repository's vae/, or a weights file. */
    public static VaeDecoder vae(Path path, Backend be) {
        Path p = path;
        if (p.resolve("model_index.json").toFile().exists() && p.resolve("vae").toFile().isDirectory()) p = p.resolve("vae");
        try (Checkpoint ck = Checkpoint.open(p, null, null)) {
            if (ck.format() != CheckpointFormat.VAE && ck.format() != CheckpointFormat.VAE_LEGACY_ATTENTION) {
                throw new CheckpointException(path + ": --vae is a " + ck.format().description() + " checkpoint, not an AutoencoderKL");
            }
            Map<String, Tensor> canon = new LinkedHashMap<>();
            // The decoder is small (about 50 M values): copy it to F32 so the file can be unmapped now.
            for (Map.Entry<String, Tensor> e : KeyMap.canonical(ck.weights(), ck.format()).entrySet()) canon.put(e.getKey(), e.getValue().to(DType.F32));
            return new VaeDecoder(VaeDecoder.Config.from(ck.config(), ck.configSource()), canon, be, ck.weights().source());
        }
    }
}
