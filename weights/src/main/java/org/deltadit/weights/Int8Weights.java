package org.deltadit.weights;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Which weights {@code dit quantize} turns into weight-only INT8 ({@code Quant}'s rule, applied as
 * {@link SafetensorsWriter} writes each): the 2-D linear weights
 * inside the transformer blocks (attention, MLP, per-block adaLN and cross-attention projections — all but a
 * few percent of a DiT's MACs). Embeddings, norms, the final layer, T5's relative position bias and
 * convolutions keep their stored precision, as paper App. E and the usual weight-only schemes do.
 */
public final class Int8Weights {
    private Int8Weights() {}

    /** A weight under a numbered block of any of our layouts (DiT, PixArt, SD3, the U-Net's transformers, T5). */
    private static final Pattern IN_BLOCK = Pattern.compile("(.*\\.)?(blocks|transformer_blocks|block)\\.\\d+\\..*\\.weight");

    /** The config.json field that marks a quantized model (the weights file's metadata says the same). */
    public static final String CONFIG_FIELD = "quantization_config";

    /** True for the tensors {@code dit quantize} makes INT8. */
    public static boolean eligible(String name, int[] shape) {
        return shape.length == 2 && shape[0] > 0 && shape[1] >= 8 && IN_BLOCK.matcher(name).matches()
                && !name.contains("relative_attention_bias") && !name.contains("norm");
    }

    /** A group size that does not divide the inputs of eligible weight {@code name} is an error naming it. */
    public static void checkGroup(String name, int[] shape, int groupSize) {
        if (groupSize > 0 && shape[1] % groupSize != 0) {
            throw new IllegalArgumentException("--group-size " + groupSize + " does not divide the " + shape[1] + " inputs of '" + name + "' " + java.util.Arrays.toString(shape));
        }
    }

    /** The config.json marker and safetensors metadata value for these settings. */
    public static Map<String, Object> marker(int groupSize) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("quant_method", "dit-int8");
        m.put("bits", 8);
        m.put("symmetric", true);
        m.put("group_size", groupSize == 0 ? null : groupSize);
        m.put("scheme", "weight-only; '<name>_scale' (F32 [rows, groups]) beside each I8 weight");
        return m;
    }
}
