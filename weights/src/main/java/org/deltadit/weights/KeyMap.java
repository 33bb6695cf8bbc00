package org.deltadit.weights;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.deltadit.engine.Tensor;

/**
 * One table per checkpoint format that maps every key to its canonical name: a rename, one part of
 * a concatenation (diffusers stores q, k and v apart; the canonical layouts fuse them), or a key that
 * is knowingly dropped (diffusers' 28 copies of the DiT embedders, the VAE encoder). A key that no
 * rule matches is reported by name, so a wrong or damaged checkpoint never loads silently.
 */
public final class KeyMap {

    /** source regex → target (with $n groups); part ≥ 0 places it in a concatenation along dim 0. */
    private record Rule(Pattern source, String target, int part, int parts) {
        static Rule rename(String re, String target) { return new Rule(Pattern.compile(re), target, -1, 0); }

        static Rule concat(String re, String target, int part, int parts) { return new Rule(Pattern.compile(re), target, part, parts); }

        static Rule drop(String re) { return new Rule(Pattern.compile(re), null, -1, 0); }
    }

    private static final String WB = "(weight|bias)";

    private static final Map<CheckpointFormat, List<Rule>> RULES = Map.of(
            CheckpointFormat.DIT_OFFICIAL, List.of(
                    Rule.rename("(pos_embed|y_embedder\\.embedding_table\\.weight)", "$1"),
                    Rule.rename("(x_embedder\\.proj|t_embedder\\.mlp\\.[02]|final_layer\\.linear|final_layer\\.adaLN_modulation\\.1)\\." + WB, "$1.$2"),
                    Rule.rename("blocks\\.(\\d+)\\.(attn\\.qkv|attn\\.proj|mlp\\.fc1|mlp\\.fc2|adaLN_modulation\\.1)\\." + WB, "blocks.$1.$2.$3")),
            CheckpointFormat.DIT_DIFFUSERS, List.of(
                    Rule.rename("pos_embed\\.proj\\." + WB, "x_embedder.proj.$1"),
                    Rule.rename("transformer_blocks\\.0\\.norm1\\.emb\\.timestep_embedder\\.linear_1\\." + WB, "t_embedder.mlp.0.$1"),
                    Rule.rename("transformer_blocks\\.0\\.norm1\\.emb\\.timestep_embedder\\.linear_2\\." + WB, "t_embedder.mlp.2.$1"),
                    Rule.rename("transformer_blocks\\.0\\.norm1\\.emb\\.class_embedder\\.embedding_table\\.weight", "y_embedder.embedding_table.weight"),
                    // diffusers stores the timestep and class embedders once per block; block 0's copy is the one used.
                    Rule.drop("transformer_blocks\\.[1-9]\\d*\\.norm1\\.emb\\.(timestep_embedder\\.linear_[12]\\.(weight|bias)|class_embedder\\.embedding_table\\.weight)"),
                    Rule.rename("transformer_blocks\\.(\\d+)\\.norm1\\.linear\\." + WB, "blocks.$1.adaLN_modulation.1.$2"),
                    Rule.concat("transformer_blocks\\.(\\d+)\\.attn1\\.to_q\\." + WB, "blocks.$1.attn.qkv.$2", 0, 3),
                    Rule.concat("transformer_blocks\\.(\\d+)\\.attn1\\.to_k\\." + WB, "blocks.$1.attn.qkv.$2", 1, 3),
                    Rule.concat("transformer_blocks\\.(\\d+)\\.attn1\\.to_v\\." + WB, "blocks.$1.attn.qkv.$2", 2, 3),
                    Rule.rename("transformer_blocks\\.(\\d+)\\.attn1\\.to_out\\.0\\." + WB, "blocks.$1.attn.proj.$2"),
                    Rule.rename("transformer_blocks\\.(\\d+)\\.ff\\.net\\.0\\.proj\\." + WB, "blocks.$1.mlp.fc1.$2"),
                    Rule.rename("transformer_blocks\\.(\\d+)\\.ff\\.net\\.2\\." + WB, "blocks.$1.mlp.fc2.$2"),
                    Rule.rename("proj_out_1\\." + WB, "final_layer.adaLN_modulation.1.$1"),
                    Rule.rename("proj_out_2\\." + WB, "final_layer.linear.$1")),
            // SD3's canonical names are diffusers' own
            CheckpointFormat.SD3_DIFFUSERS, List.of(Rule.rename("(.+)", "$1")),
            CheckpointFormat.UNET_DIFFUSERS, List.of(Rule.rename("(.+)", "$1")),
            CheckpointFormat.PIXART_ORIGINAL, List.of(
                    // a fixed sin-cos table: kept only to tell the native size, recomputed for each run (as PixArt's inference.py does)
                    Rule.rename("(pos_embed|y_embedder\\.y_embedding)", "$1"),
                    Rule.rename("(x_embedder\\.proj|t_embedder\\.mlp\\.[02]|t_block\\.1|y_embedder\\.y_proj\\.fc[12]|csize_embedder\\.mlp\\.[02]|ar_embedder\\.mlp\\.[02]|final_layer\\.linear)\\." + WB, "$1.$2"),
                    Rule.rename("final_layer\\.scale_shift_table", "final_layer.scale_shift_table"),
                    Rule.rename("blocks\\.(\\d+)\\.scale_shift_table", "blocks.$1.scale_shift_table"),
                    Rule.rename("blocks\\.(\\d+)\\.(attn\\.qkv|attn\\.proj|cross_attn\\.q_linear|cross_attn\\.kv_linear|cross_attn\\.proj|mlp\\.fc1|mlp\\.fc2)\\." + WB, "blocks.$1.$2.$3")),
            CheckpointFormat.PIXART_DIFFUSERS, List.of(
                    Rule.rename("pos_embed\\.proj\\." + WB, "x_embedder.proj.$1"),
                    Rule.rename("caption_projection\\.linear_([12])\\." + WB, "y_embedder.y_proj.fc$1.$2"),
                    Rule.rename("adaln_single\\.emb\\.timestep_embedder\\.linear_1\\." + WB, "t_embedder.mlp.0.$1"),
                    Rule.rename("adaln_single\\.emb\\.timestep_embedder\\.linear_2\\." + WB, "t_embedder.mlp.2.$1"),
                    Rule.rename("adaln_single\\.emb\\.resolution_embedder\\.linear_1\\." + WB, "csize_embedder.mlp.0.$1"),
                    Rule.rename("adaln_single\\.emb\\.resolution_embedder\\.linear_2\\." + WB, "csize_embedder.mlp.2.$1"),
                    Rule.rename("adaln_single\\.emb\\.aspect_ratio_embedder\\.linear_1\\." + WB, "ar_embedder.mlp.0.$1"),
                    Rule.rename("adaln_single\\.emb\\.aspect_ratio_embedder\\.linear_2\\." + WB, "ar_embedder.mlp.2.$1"),
                    Rule.rename("adaln_single\\.linear\\." + WB, "t_block.1.$1"),
                    Rule.rename("transformer_blocks\\.(\\d+)\\.scale_shift_table", "blocks.$1.scale_shift_table"),
                    Rule.concat("transformer_blocks\\.(\\d+)\\.attn1\\.to_q\\." + WB, "blocks.$1.attn.qkv.$2", 0, 3),
                    Rule.concat("transformer_blocks\\.(\\d+)\\.attn1\\.to_k\\." + WB, "blocks.$1.attn.qkv.$2", 1, 3),
                    Rule.concat("transformer_blocks\\.(\\d+)\\.attn1\\.to_v\\." + WB, "blocks.$1.attn.qkv.$2", 2, 3),
                    Rule.rename("transformer_blocks\\.(\\d+)\\.attn1\\.to_out\\.0\\." + WB, "blocks.$1.attn.proj.$2"),
                    Rule.rename("transformer_blocks\\.(\\d+)\\.attn2\\.to_q\\." + WB, "blocks.$1.cross_attn.q_linear.$2"),
                    Rule.concat("transformer_blocks\\.(\\d+)\\.attn2\\.to_k\\." + WB, "blocks.$1.cross_attn.kv_linear.$2", 0, 2),
                    Rule.concat("transformer_blocks\\.(\\d+)\\.attn2\\.to_v\\." + WB, "blocks.$1.cross_attn.kv_linear.$2", 1, 2),
                    Rule.rename("transformer_blocks\\.(\\d+)\\.attn2\\.to_out\\.0\\." + WB, "blocks.$1.cross_attn.proj.$2"),
                    Rule.rename("transformer_blocks\\.(\\d+)\\.ff\\.net\\.0\\.proj\\." + WB, "blocks.$1.mlp.fc1.$2"),
                    Rule.rename("transformer_blocks\\.(\\d+)\\.ff\\.net\\.2\\." + WB, "blocks.$1.mlp.fc2.$2"),
                    Rule.rename("scale_shift_table", "final_layer.scale_shift_table"),
                    Rule.rename("proj_out\\." + WB, "final_layer.linear.$1")),
            CheckpointFormat.VAE, vaeRules(false),
            CheckpointFormat.VAE_LEGACY_ATTENTION, vaeRules(true),
            CheckpointFormat.T5_ENCODER, List.of(
                    Rule.rename("shared\\.weight", "shared.weight"),
                    Rule.rename("encoder\\.embed_tokens\\.weight", "encoder.embed_tokens.weight"), // tied to shared.weight (T5Config.tied)
                    Rule.rename("encoder\\.final_layer_norm\\.weight", "encoder.final_layer_norm.weight"),
                    Rule.rename("encoder\\.block\\.0\\.layer\\.0\\.SelfAttention\\.relative_attention_bias\\.weight", "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"),
                    Rule.rename("encoder\\.block\\.(\\d+)\\.layer\\.0\\.(SelfAttention\\.[qkvo]|layer_norm)\\.weight", "encoder.block.$1.layer.0.$2.weight"),
                    Rule.rename("encoder\\.block\\.(\\d+)\\.layer\\.1\\.(DenseReluDense\\.wi_0|DenseReluDense\\.wi_1|DenseReluDense\\.wo|layer_norm)\\.weight", "encoder.block.$1.layer.1.$2.weight"),
                    // a whole T5ForConditionalGeneration (google/t5-v1_1-xxl): the decoder and LM head are not needed, as T5EncoderModel drops them
                    Rule.drop("decoder\\..+"), Rule.drop("lm_head\\.weight")));

    private static List<Rule> vaeRules(boolean legacy) {
        List<Rule> r = new ArrayList<>();
        r.add(Rule.drop("(encoder|quant_conv)\\..*")); // sampling only decodes
        r.add(Rule.rename("post_quant_conv\\." + WB, "post_quant_conv.$1"));
        if (legacy) {
            r.add(Rule.rename("decoder\\.mid_block\\.attentions\\.(\\d+)\\.query\\." + WB, "decoder.mid_block.attentions.$1.to_q.$2"));
            r.add(Rule.rename("decoder\\.mid_block\\.attentions\\.(\\d+)\\.key\\." + WB, "decoder.mid_block.attentions.$1.to_k.$2"));
            r.add(Rule.rename("decoder\\.mid_block\\.attentions\\.(\\d+)\\.value\\." + WB, "decoder.mid_block.attentions.$1.to_v.$2"));
            r.add(Rule.rename("decoder\\.mid_block\\.attentions\\.(\\d+)\\.proj_attn\\." + WB, "decoder.mid_block.attentions.$1.to_out.0.$2"));
        } else {
            r.add(Rule.rename("decoder\\.mid_block\\.attentions\\.(\\d+)\\.(to_q|to_k|to_v|to_out\\.0)\\." + WB, "decoder.mid_block.attentions.$1.$2.$3"));
        }
        r.add(Rule.rename("decoder\\.mid_block\\.attentions\\.(\\d+)\\.group_norm\\." + WB, "decoder.mid_block.attentions.$1.group_norm.$2"));
        r.add(Rule.rename("decoder\\.(conv_in|conv_out|conv_norm_out)\\." + WB, "decoder.$1.$2"));
        r.add(Rule.rename("decoder\\.mid_block\\.resnets\\.(\\d+)\\.(norm1|norm2|conv1|conv2|conv_shortcut)\\." + WB, "decoder.mid_block.resnets.$1.$2.$3"));
        r.add(Rule.rename("decoder\\.up_blocks\\.(\\d+)\\.resnets\\.(\\d+)\\.(norm1|norm2|conv1|conv2|conv_shortcut)\\." + WB, "decoder.up_blocks.$1.resnets.$2.$3.$4"));
        r.add(Rule.rename("decoder\\.up_blocks\\.(\\d+)\\.upsamplers\\.0\\.conv\\." + WB, "decoder.up_blocks.$1.upsamplers.0.conv.$2"));
        return r;
    }

    private KeyMap() {}

    /**
     * The canonical tensors of {@code sd} read as {@code format}: views where a key is renamed, copies
     * (in the stored dtype) where parts are concatenated. Unknown keys and incomplete concatenations are errors.
     */
    public static Map<String, Tensor> canonical(StateDict sd, CheckpointFormat format) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        Map<String, Tensor[]> parts = new TreeMap<>();
        for (String key : sd.keys()) {
            Rule rule = null;
            Matcher m = null;
            for (Rule r : RULES.get(format)) {
                m = r.source.matcher(key);
                if (m.matches()) {
                    rule = r;
                    break;
                }
            }
            if (rule == null) throw new CheckpointException(sd.source() + ": unexpected key '" + key + "' for " + format.description());
            if (rule.target == null) continue;
            String target = m.replaceFirst(rule.target);
            if (rule.part < 0) {
                if (out.put(target, sd.tensor(key)) != null) throw new CheckpointException(sd.source() + ": key '" + key + "' maps onto '" + target + "' twice");
            } else {
                int count = rule.parts;
                parts.computeIfAbsent(target, t -> new Tensor[count])[rule.part] = sd.tensor(key);
            }
        }
        for (Map.Entry<String, Tensor[]> e : parts.entrySet()) {
            for (int i = 0; i < e.getValue().length; i++) {
                if (e.getValue()[i] == null) throw new CheckpointException(sd.source() + ": missing part " + i + " of '" + e.getKey() + "' (q/k/v or k/v projections come together)");
            }
            try {
                out.put(e.getKey(), Tensor.concat(0, e.getValue()));
            } catch (IllegalArgumentException ex) {
                throw new CheckpointException(sd.source() + ": parts of '" + e.getKey() + "' have mismatched shapes (" + ex.getMessage() + ")");
            }
        }
        return out;
    }
}
