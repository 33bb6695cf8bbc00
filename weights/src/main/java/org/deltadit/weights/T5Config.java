package org.deltadit.weights;

import java.util.LinkedHashMap;
import java.util.Map;
import org.deltadit.engine.Tensor;

/**
 * A T5 (v1.1, gated-GELU) encoder as Hugging Face's config.json names it (model-formats.md §4). Widths and
 * depth come from the tensors; heads, buckets, distance and eps from the config (T5-v1.1-XXL values
 * without one). Every tensor shape is checked.
 */
public record T5Config(int dModel, int numHeads, int dKv, int dFf, int numLayers, int vocab, int buckets, int maxDistance, double eps) {

    /**
     * The canonical tensors with the tied embedding under one name: Hugging Face saves {@code shared.weight}
     * and usually not its tie {@code encoder.embed_tokens.weight}, but some exports keep only the latter.
     */
    public static Map<String, Tensor> tied(Map<String, Tensor> canonical) {
        Map<String, Tensor> w = new java.util.LinkedHashMap<>(canonical);
        Tensor tok = w.remove("encoder.embed_tokens.weight");
        if (tok != null) w.putIfAbsent("shared.weight", tok);
        return w;
    }

    public static T5Config resolve(String src, Map<String, Tensor> w, Map<String, Object> config) { return resolve(src, src, w, config); }

    /** As above; {@code cs} names the config file in messages about its fields. */
    public static T5Config resolve(String src, String cs, Map<String, Tensor> w, Map<String, Object> config) {
        Tensor shared = Shapes.need(src, w, "shared.weight", 2);
        int vocab = shared.dim(0), d = shared.dim(1);
        Tensor rel = Shapes.need(src, w, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", 2);
        int buckets = rel.dim(0), heads = rel.dim(1);
        int inner = Shapes.need(src, w, "encoder.block.0.layer.0.SelfAttention.q.weight", 2).dim(0);
        if (inner % heads != 0) throw new CheckpointException(src + ": attention width " + inner + " is not a multiple of " + heads + " heads");
        int ff = Shapes.need(src, w, "encoder.block.0.layer.1.DenseReluDense.wi_0.weight", 2).dim(0);
        int layers = countLayers(w);
        int maxDistance = 128;
        double eps = 1e-6;
        if (config != null) {
            Shapes.check(cs, "d_model", Shapes.intField(cs, config, "d_model", d), d);
            Shapes.check(cs, "num_heads", Shapes.intField(cs, config, "num_heads", heads), heads);
            Shapes.check(cs, "d_kv", Shapes.intField(cs, config, "d_kv", inner / heads), inner / heads);
            Shapes.check(cs, "d_ff", Shapes.intField(cs, config, "d_ff", ff), ff);
            Shapes.check(cs, "num_layers", Shapes.intField(cs, config, "num_layers", layers), layers);
            Shapes.check(cs, "relative_attention_num_buckets", Shapes.intField(cs, config, "relative_attention_num_buckets", buckets), buckets);
            maxDistance = Shapes.intField(cs, config, "relative_attention_max_distance", maxDistance);
            eps = ConfigFields.number(cs, config, "layer_norm_epsilon", eps);
            if (!(eps > 0)) throw new CheckpointException(cs + ": config field 'layer_norm_epsilon' is " + eps + ", not a positive number");
            String act = ConfigFields.string(cs, config, "feed_forward_proj");
            if (act != null && !act.equals("gated-gelu")) throw new CheckpointException(cs + ": feed_forward_proj '" + act + "' (only T5 v1.1's gated-gelu is supported)");
        }
        T5Config c = new T5Config(d, heads, inner / heads, ff, layers, vocab, buckets, maxDistance, eps);
        Shapes.checkAll(src, w, c.expectedShapes(), "T5 encoder (" + layers + " layers, d_model " + d + ")");
        return c;
    }

    private static int countLayers(Map<String, Tensor> w) {
        int n = 0;
        while (w.containsKey("encoder.block." + n + ".layer.0.SelfAttention.q.weight")) n++;
        return n;
    }

    public Map<String, int[]> expectedShapes() {
        Map<String, int[]> m = new LinkedHashMap<>();
        int inner = numHeads * dKv;
        m.put("shared.weight", new int[] {vocab, dModel});
        m.put("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", new int[] {buckets, numHeads});
        for (int i = 0; i < numLayers; i++) {
            String p = "encoder.block." + i + ".layer.";
            for (String q : new String[] {"q", "k", "v"}) m.put(p + "0.SelfAttention." + q + ".weight", new int[] {inner, dModel});
            m.put(p + "0.SelfAttention.o.weight", new int[] {dModel, inner});
            m.put(p + "0.layer_norm.weight", new int[] {dModel});
            m.put(p + "1.DenseReluDense.wi_0.weight", new int[] {dFf, dModel});
            m.put(p + "1.DenseReluDense.wi_1.weight", new int[] {dFf, dModel});
            m.put(p + "1.DenseReluDense.wo.weight", new int[] {dModel, dFf});
            m.put(p + "1.layer_norm.weight", new int[] {dModel});
        }
        m.put("encoder.final_layer_norm.weight", new int[] {dModel});
        return m;
    }
}
