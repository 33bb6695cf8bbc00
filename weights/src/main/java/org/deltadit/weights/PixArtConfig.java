package org.deltadit.weights;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.deltadit.engine.Tensor;

/**
 * A PixArt-α transformer (model-formats.md §2), in the original constructor's terms. {@code inputSize}
 * is the latent side the model runs at now, {@code nativeSize} the one it was trained at: the position
 * table spans the native grid (base size) whatever the run's size, scaled by {@code interpolationScale}
 * (lewei_scale). {@code microConditions}: the 1024-MS models embed the image size and aspect ratio.
 */
public record PixArtConfig(int inputSize, int nativeSize, int patchSize, int inChannels, int hiddenSize, int depth, int numHeads,
                           int captionChannels, int maxTokens, boolean learnSigma, boolean microConditions, double interpolationScale,
                           int mlpHidden, CheckpointFormat format, Map<String, String> sources) implements ModelConfig {

    @Override
    public int outChannels() { return learnSigma ? 2 * inChannels : inChannels; }

    @Override
    public String archName() {
        String base = depth == 28 && hiddenSize == 1152 && numHeads == 16 ? "PixArt-XL/" + patchSize
                : "PixArt (depth " + depth + ", hidden " + hiddenSize + ", " + numHeads + " heads, patch " + patchSize + ")";
        return base + (microConditions ? " MS" : "");
    }

    /** Width of each micro-condition embedding (size h, size w, aspect ratio): D/3. */
    public int sizeEmbedWidth() { return hiddenSize / 3; }

    /** The same model run at another latent size (the position table is recomputed; MS models take any size). */
    public PixArtConfig withInputSize(int size) {
        return new PixArtConfig(size, nativeSize, patchSize, inChannels, hiddenSize, depth, numHeads, captionChannels, maxTokens,
                learnSigma, microConditions, interpolationScale, mlpHidden, format, sources);
    }

    /**
     * The published PixArt-α models: "PixArt-XL/2" at 256, 512 or 1024 px (1024 is the MS model with
     * micro-conditions; the LCM model has the same architecture). Interpolation scales as the original
     * inference script sets them: 0.5, 1, 2.
     */
    public static PixArtConfig preset(String arch, int imagePixels) {
        Matcher m = Pattern.compile("PixArt-XL/2").matcher(arch.trim());
        if (!m.matches()) throw new org.deltadit.engine.InvalidParameter("arch", "unknown architecture '" + arch + "' (PixArt-XL/2)");
        double scale = switch (imagePixels) {
            case 256 -> 0.5;
            case 512 -> 1;
            case 1024 -> 2;
            default -> throw new org.deltadit.engine.InvalidParameter("imageSize", "PixArt-XL/2 was published at 256, 512 and 1024 px, not " + imagePixels);
        };
        return new PixArtConfig(imagePixels / 8, imagePixels / 8, 2, 4, 1152, 28, 16, 4096, 120, true, imagePixels == 1024, scale, 4608,
                CheckpointFormat.PIXART_DIFFUSERS, Map.of("architecture", "--arch " + arch + " at " + imagePixels + " px"));
    }

    /**
     * Resolves the architecture of canonical PixArt tensors (original names): shapes give widths, depth and
     * whether micro-conditions exist; a config (diffusers or original constructor fields) gives the native
     * size, heads and interpolation scale, which {@code imageLatent} (--image-size / 8) and {@code heads}
     * complete or override. Every tensor shape is then checked.
     */
    public static PixArtConfig resolve(String src, Map<String, Tensor> w, CheckpointFormat format, Map<String, Object> config,
                                       Integer heads, Integer imageLatent) {
        return resolve(src, src, w, format, config, heads, imageLatent);
    }

    /** As above; {@code cs} names the config file in messages about its fields. */
    public static PixArtConfig resolve(String src, String cs, Map<String, Tensor> w, CheckpointFormat format, Map<String, Object> config,
                                       Integer heads, Integer imageLatent) {
        Map<String, String> from = new LinkedHashMap<>();
        Tensor patch = Shapes.need(src, w, "x_embedder.proj.weight", 4);
        int hidden = patch.dim(0), in = patch.dim(1), p = patch.dim(2);
        int depth = Shapes.countBlocks(w);
        int outC = Shapes.outChannels(src, w, in, p);
        int caption = Shapes.need(src, w, "y_embedder.y_proj.fc1.weight", 2).dim(1);
        int mlp = Shapes.need(src, w, "blocks.0.mlp.fc1.weight", 2).dim(0);
        boolean ms = w.containsKey("csize_embedder.mlp.0.weight");
        from.put("hidden_size, in_channels, patch_size, depth, caption_channels, micro-conditions", "tensor shapes");
        int maxTokens = w.containsKey("y_embedder.y_embedding") ? w.get("y_embedder.y_embedding").dim(0) : 120;
        int nativeSize = 0;
        Double scale = null;
        if (w.containsKey("pos_embed")) {
            int n = w.get("pos_embed").dim(1), g = (int) Math.round(Math.sqrt(n));
            if (g * g == n) {
                nativeSize = g * p;
                from.put("native size", "pos_embed");
            }
        }
        if (config != null) {
            boolean diffusers = config.containsKey("num_layers") || config.containsKey("sample_size");
            Shapes.check(cs, diffusers ? "num_layers" : "depth", Shapes.intField(cs, config, diffusers ? "num_layers" : "depth", depth), depth);
            Shapes.check(cs, "patch_size", Shapes.intField(cs, config, "patch_size", p), p);
            Shapes.check(cs, "in_channels", Shapes.intField(cs, config, "in_channels", in), in);
            Shapes.check(cs, "caption_channels", Shapes.intField(cs, config, "caption_channels", caption), caption);
            Integer h = Shapes.intField(cs, config, diffusers ? "num_attention_heads" : "num_heads", null);
            if (h != null) {
                if (heads != null && !heads.equals(h)) {
                    throw new org.deltadit.engine.InvalidParameter("heads", heads + " contradicts " + cs + " (" + h + " heads): give heads only where config and shapes do not tell");
                }
                heads = h;
                from.put("num_heads", "config.json");
            }
            int s = Shapes.intField(cs, config, diffusers ? "sample_size" : "input_size", 0);
            if (s > 0) {
                if (nativeSize != 0) Shapes.check(cs, diffusers ? "sample_size" : "input_size", s, nativeSize);
                nativeSize = s;
                from.put("native size", "config.json");
            }
            Double sc = ConfigFields.number(cs, config, diffusers ? "interpolation_scale" : "lewei_scale", null);
            if (sc != null) {
                if (!(sc > 0)) throw new CheckpointException(cs + ": config field '" + (diffusers ? "interpolation_scale" : "lewei_scale") + "' is " + sc + ", not a positive number");
                scale = sc;
                from.put("interpolation_scale", "config.json");
            }
            if (!diffusers) maxTokens = Shapes.intField(cs, config, "model_max_length", maxTokens);
            String a = ConfigFields.string(cs, config, "arch");
            if (a != null && a.equals("PixArtMS") != ms) {
                throw new CheckpointException(cs + ": config arch " + a + " disagrees with the weights (" + (ms ? "" : "no ") + "micro-condition embedders)");
            }
        }
        if (nativeSize == 0) {
            if (imageLatent == null) throw new CheckpointException(src + ": the model's native size is unknown (no config.json, no pos_embed); give --image-size, "
                    + "or a config.json beside it with \"input_size\" (pixels / 8, e.g. 64 for a 512 px model)");
            nativeSize = imageLatent;
            from.put("native size", "--image-size");
        }
        if (scale == null) {
            // diffusers' default when the key is absent; the original script's table otherwise (256 px → 0.5)
            scale = format == CheckpointFormat.PIXART_DIFFUSERS || nativeSize != 32 ? Math.max(nativeSize / 64, 1) : 0.5;
            from.put("interpolation_scale", "default for native size " + nativeSize);
        }
        if (heads == null) {
            if (hidden != 1152) throw new CheckpointException(src + ": cannot infer the number of heads for hidden size " + hidden + "; pass --heads or a config.json");
            heads = 16;
            from.put("num_heads", "PixArt-XL table");
        }
        if (heads <= 0 || hidden % heads != 0) throw new CheckpointException(src + ": " + heads + " heads do not divide hidden size " + hidden);
        int size = imageLatent != null ? imageLatent : nativeSize;
        if (size % p != 0) throw new CheckpointException(src + ": latent size " + size + " is not a multiple of patch " + p);
        if (!ms && size != nativeSize) {
            throw new CheckpointException(src + ": this PixArt model (no micro-conditions) was trained at " + nativeSize * 8 + " px; --image-size " + size * 8 + " needs an MS model");
        }
        PixArtConfig c = new PixArtConfig(size, nativeSize, p, in, hidden, depth, heads, caption, maxTokens, outC == 2 * in, ms, scale, mlp, format, from);
        Shapes.checkAll(src, w, c.expectedShapes(), c.archName(), "pos_embed", "y_embedder.y_embedding");
        int g = nativeSize / p;
        Shapes.optional(src, w, "pos_embed", new int[] {1, g * g, hidden});
        Shapes.optional(src, w, "y_embedder.y_embedding", new int[] {maxTokens, caption});
        return c;
    }

    /** Every canonical key this architecture needs, with its shape (pos_embed and the null caption are optional). */
    public Map<String, int[]> expectedShapes() {
        Map<String, int[]> m = new LinkedHashMap<>();
        int d = hiddenSize, e = sizeEmbedWidth();
        Shapes.linear(m, "x_embedder.proj", new int[] {d, inChannels, patchSize, patchSize});
        Shapes.linear(m, "t_embedder.mlp.0", new int[] {d, FREQUENCY_WIDTH});
        Shapes.linear(m, "t_embedder.mlp.2", new int[] {d, d});
        Shapes.linear(m, "t_block.1", new int[] {6 * d, d});
        Shapes.linear(m, "y_embedder.y_proj.fc1", new int[] {d, captionChannels});
        Shapes.linear(m, "y_embedder.y_proj.fc2", new int[] {d, d});
        if (microConditions) {
            for (String k : new String[] {"csize_embedder", "ar_embedder"}) {
                Shapes.linear(m, k + ".mlp.0", new int[] {e, FREQUENCY_WIDTH});
                Shapes.linear(m, k + ".mlp.2", new int[] {e, e});
            }
        }
        for (int i = 0; i < depth; i++) {
            String b = "blocks." + i + ".";
            m.put(b + "scale_shift_table", new int[] {6, d});
            Shapes.linear(m, b + "attn.qkv", new int[] {3 * d, d});
            Shapes.linear(m, b + "attn.proj", new int[] {d, d});
            Shapes.linear(m, b + "cross_attn.q_linear", new int[] {d, d});
            Shapes.linear(m, b + "cross_attn.kv_linear", new int[] {2 * d, d});
            Shapes.linear(m, b + "cross_attn.proj", new int[] {d, d});
            Shapes.linear(m, b + "mlp.fc1", new int[] {mlpHidden, d});
            Shapes.linear(m, b + "mlp.fc2", new int[] {d, mlpHidden});
        }
        m.put("final_layer.scale_shift_table", new int[] {2, d});
        Shapes.linear(m, "final_layer.linear", new int[] {patchSize * patchSize * outChannels(), d});
        return m;
    }
}
