package org.deltadit.weights;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.deltadit.engine.Tensor;

/**
 * A DiT architecture, as the official constructor names it. {@code inputSize} is the latent (or
 * pixel, for pixel-space models) side length; 0 when nothing tells it (diffusers keeps no pos_embed
 * and no config was found), then the image size must be given. {@code sources} says, per field,
 * whether it was read from a config, given on the command line, or inferred from a tensor shape.
 */
public record DitConfig(int inputSize, int patchSize, int inChannels, int hiddenSize, int depth, int numHeads,
                        int numClasses, boolean learnSigma, int mlpHidden, CheckpointFormat format, Map<String, String> sources) implements ModelConfig {

    /** Standard DiT presets: name → {depth, hidden, heads}; the patch size comes from the "/p" suffix. */
    public static final Map<String, int[]> PRESETS = Map.of("XL", new int[] {28, 1152, 16}, "L", new int[] {24, 1024, 16},
            "B", new int[] {12, 768, 12}, "S", new int[] {12, 384, 6});

    @Override
    public int outChannels() { return learnSigma ? 2 * inChannels : inChannels; }

    /** "DiT-XL/2"-style name when the size matches a preset, else a description. */
    @Override
    public String archName() {
        for (Map.Entry<String, int[]> p : PRESETS.entrySet()) {
            int[] v = p.getValue();
            if (v[0] == depth && v[1] == hiddenSize && v[2] == numHeads) return "DiT-" + p.getKey() + "/" + patchSize;
        }
        return "DiT (depth " + depth + ", hidden " + hiddenSize + ", " + numHeads + " heads, patch " + patchSize + ")";
    }

    /** Command-line overrides; null fields are not given. */
    public record Overrides(Integer heads, String arch, Integer inputSize) {
        public static final Overrides NONE = new Overrides(null, null, null);
    }

    /**
     * Resolves the architecture of canonical DiT tensors (official names): a config (diffusers or
     * constructor fields) wins, then command-line values, then shapes; heads fall back to the
     * standard table (384→6, 768→12, 1024/1152→16). Every tensor shape is then checked against it.
     */
    public static DitConfig resolve(String src, Map<String, Tensor> w, CheckpointFormat format, Map<String, Object> config, Overrides o) {
        return resolve(src, src, w, format, config, o);
    }

    /** As above; {@code cs} names the config file in messages about its fields. */
    public static DitConfig resolve(String src, String cs, Map<String, Tensor> w, CheckpointFormat format, Map<String, Object> config, Overrides o) {
        Map<String, String> from = new LinkedHashMap<>();
        Tensor patch = Shapes.need(src, w, "x_embedder.proj.weight", 4);
        int hidden = patch.dim(0), in = patch.dim(1), p = patch.dim(2);
        if (patch.dim(3) != p) throw new CheckpointException(src + ": 'x_embedder.proj.weight' " + patch.shapeString() + " is not a square patch");
        from.put("hidden_size", "x_embedder.proj.weight");
        from.put("in_channels", "x_embedder.proj.weight");
        from.put("patch_size", "x_embedder.proj.weight");
        int depth = Shapes.countBlocks(w);
        from.put("depth", "blocks.* count");
        int outC = Shapes.outChannels(src, w, in, p);
        from.put("learn_sigma", "final_layer.linear.weight");
        Tensor table = Shapes.need(src, w, "y_embedder.embedding_table.weight", 2);
        int classes = table.dim(0) - 1; // DiT trains with label dropout, so the last row is the null class
        from.put("num_classes", "y_embedder.embedding_table.weight (rows − 1: the null class)");
        int mlp = Shapes.need(src, w, "blocks.0.mlp.fc1.weight", 2).dim(0);
        int inputSize = 0;
        if (w.containsKey("pos_embed")) {
            Tensor pe = w.get("pos_embed");
            int n = pe.dim(pe.rank() - 2), g = (int) Math.round(Math.sqrt(n));
            if (g * g != n) throw new CheckpointException(src + ": 'pos_embed' " + pe.shapeString() + " is not a square grid");
            inputSize = g * p;
            from.put("input_size", "pos_embed");
        }
        Integer heads = null;

        if (config != null) {
            if (config.containsKey("num_layers") || config.containsKey("attention_head_dim")) {
                heads = Shapes.intField(cs, config, "num_attention_heads", heads);
                int headDim = Shapes.intField(cs, config, "attention_head_dim", heads == null ? 0 : hidden / heads);
                Shapes.check(cs, "num_attention_heads × attention_head_dim", heads == null ? hidden : heads * headDim, hidden);
                Shapes.check(cs, "num_layers", Shapes.intField(cs, config, "num_layers", depth), depth);
                Shapes.check(cs, "patch_size", Shapes.intField(cs, config, "patch_size", p), p);
                Shapes.check(cs, "in_channels", Shapes.intField(cs, config, "in_channels", in), in);
                Shapes.check(cs, "out_channels", Shapes.intField(cs, config, "out_channels", outC), outC);
                Shapes.check(cs, "num_embeds_ada_norm", Shapes.intField(cs, config, "num_embeds_ada_norm", classes), classes);
                if (config.containsKey("sample_size")) {
                    int s = Shapes.intField(cs, config, "sample_size", 0);
                    if (inputSize != 0) Shapes.check(cs, "sample_size", s, inputSize);
                    inputSize = s;
                    from.put("input_size", "config.json sample_size");
                }
            } else {
                heads = Shapes.intField(cs, config, "num_heads", heads);
                Shapes.check(cs, "hidden_size", Shapes.intField(cs, config, "hidden_size", hidden), hidden);
                Shapes.check(cs, "depth", Shapes.intField(cs, config, "depth", depth), depth);
                Shapes.check(cs, "patch_size", Shapes.intField(cs, config, "patch_size", p), p);
                Shapes.check(cs, "in_channels", Shapes.intField(cs, config, "in_channels", in), in);
                Shapes.check(cs, "num_classes", Shapes.intField(cs, config, "num_classes", classes), classes);
                Boolean ls = ConfigFields.bool(cs, config, "learn_sigma");
                if (ls != null && ls != (outC == 2 * in)) {
                    throw new CheckpointException(cs + ": config learn_sigma " + ls + " disagrees with 'final_layer.linear.weight' " + w.get("final_layer.linear.weight").shapeString());
                }
                if (config.containsKey("input_size")) {
                    int s = Shapes.intField(cs, config, "input_size", 0);
                    if (inputSize != 0) Shapes.check(cs, "input_size", s, inputSize);
                    inputSize = s;
                    from.put("input_size", "config.json");
                }
            }
            if (heads != null) from.put("num_heads", "config.json");
        }
        if (o.inputSize() != null) {
            if (inputSize != 0 && inputSize != o.inputSize()) {
                throw new CheckpointException(src + ": this checkpoint's positional table is for input size " + inputSize + ", not " + o.inputSize());
            }
            if (inputSize == 0) {
                inputSize = o.inputSize();
                from.put("input_size", "--image-size");
            }
        }
        if (o.arch() != null) {
            int[] preset = preset(o.arch());
            if (preset[1] != hidden || preset[0] != depth || preset[3] != p) {
                throw new CheckpointException(src + ": --arch " + o.arch() + " does not match the checkpoint (depth " + depth + ", hidden " + hidden + ", patch " + p + ")");
            }
            if (heads == null) {
                heads = preset[2];
                from.put("num_heads", "--arch " + o.arch());
            }
        }
        if (o.heads() != null) {
            if (heads != null && !heads.equals(o.heads()) && "config.json".equals(from.get("num_heads"))) {
                throw new org.deltadit.engine.InvalidParameter("heads", o.heads() + " contradicts " + cs + " (" + heads + " heads): give heads only where config and shapes do not tell");
            }
            heads = o.heads();
            from.put("num_heads", "--heads");
        }
        if (heads == null) {
            heads = switch (hidden) {
                case 384 -> 6;
                case 768 -> 12;
                case 1024, 1152 -> 16;
                default -> throw new CheckpointException(src + ": cannot infer the number of heads for hidden size " + hidden + "; pass --heads or a config.json");
            };
            from.put("num_heads", "standard DiT table for hidden size " + hidden);
        }
        if (heads <= 0 || hidden % heads != 0) throw new CheckpointException(src + ": " + heads + " heads do not divide hidden size " + hidden);
        if (inputSize != 0 && inputSize % p != 0) throw new CheckpointException(src + ": input size " + inputSize + " is not a multiple of patch " + p);
        DitConfig c = new DitConfig(inputSize, p, in, hidden, depth, heads, classes, outC == 2 * in, mlp, format, from);
        c.checkShapes(src, w);
        return c;
    }

    /** Every canonical key this architecture needs, with its shape; missing, extra and mis-shaped keys are named. */
    public Map<String, int[]> expectedShapes() {
        Map<String, int[]> m = new LinkedHashMap<>();
        int d = hiddenSize;
        m.put("x_embedder.proj.weight", new int[] {d, inChannels, patchSize, patchSize});
        m.put("x_embedder.proj.bias", new int[] {d});
        m.put("t_embedder.mlp.0.weight", new int[] {d, FREQUENCY_WIDTH});
        m.put("t_embedder.mlp.0.bias", new int[] {d});
        m.put("t_embedder.mlp.2.weight", new int[] {d, d});
        m.put("t_embedder.mlp.2.bias", new int[] {d});
        m.put("y_embedder.embedding_table.weight", new int[] {numClasses + 1, d});
        for (int i = 0; i < depth; i++) {
            String b = "blocks." + i + ".";
            m.put(b + "attn.qkv.weight", new int[] {3 * d, d});
            m.put(b + "attn.qkv.bias", new int[] {3 * d});
            m.put(b + "attn.proj.weight", new int[] {d, d});
            m.put(b + "attn.proj.bias", new int[] {d});
            m.put(b + "mlp.fc1.weight", new int[] {mlpHidden, d});
            m.put(b + "mlp.fc1.bias", new int[] {mlpHidden});
            m.put(b + "mlp.fc2.weight", new int[] {d, mlpHidden});
            m.put(b + "mlp.fc2.bias", new int[] {d});
            m.put(b + "adaLN_modulation.1.weight", new int[] {6 * d, d});
            m.put(b + "adaLN_modulation.1.bias", new int[] {6 * d});
        }
        m.put("final_layer.adaLN_modulation.1.weight", new int[] {2 * d, d});
        m.put("final_layer.adaLN_modulation.1.bias", new int[] {2 * d});
        m.put("final_layer.linear.weight", new int[] {patchSize * patchSize * outChannels(), d});
        m.put("final_layer.linear.bias", new int[] {patchSize * patchSize * outChannels()});
        return m;
    }

    private void checkShapes(String src, Map<String, Tensor> w) {
        Shapes.checkAll(src, w, expectedShapes(), archName(), "pos_embed");
        if (w.containsKey("pos_embed")) {
            int[] s = w.get("pos_embed").shape();
            int n = inputSize == 0 ? -1 : tokens();
            if (s.length != 3 || s[0] != 1 || s[2] != hiddenSize || (n >= 0 && s[1] != n)) {
                throw new CheckpointException(src + ": 'pos_embed' is " + w.get("pos_embed").shapeString() + ", expected [1, " + n + ", " + hiddenSize + "]");
            }
        }
    }

    /**
     * A preset architecture ("DiT-XL/2") at latent size {@code inputSize} with {@code inChannels} latent
     * channels and {@code numClasses} classes, learned σ and MLP ratio 4, as the official code builds it.
     */
    public static DitConfig ofPreset(String arch, int inputSize, int inChannels, int numClasses) {
        int[] p = preset(arch);
        if (inputSize % p[3] != 0) throw new org.deltadit.engine.InvalidParameter("imageSize", "latent size " + inputSize + " is not a multiple of patch " + p[3]);
        return new DitConfig(inputSize, p[3], inChannels, p[1], p[0], p[2], numClasses, true, 4 * p[1], CheckpointFormat.DIT_OFFICIAL,
                Map.of("architecture", "--arch " + arch.trim()));
    }

    /** "DiT-XL/2" → {depth, hidden, heads, patch}. */
    public static int[] preset(String arch) {
        Matcher m = Pattern.compile("DiT-(XL|L|B|S)/(2|4|8)").matcher(arch.trim());
        if (!m.matches()) throw new org.deltadit.engine.InvalidParameter("arch", "unknown architecture '" + arch + "' (DiT-XL/2, DiT-L/4, DiT-B/8, DiT-S/2, …, PixArt-XL/2)");
        int[] v = PRESETS.get(m.group(1));
        return new int[] {v[0], v[1], v[2], Integer.parseInt(m.group(2))};
    }
}
