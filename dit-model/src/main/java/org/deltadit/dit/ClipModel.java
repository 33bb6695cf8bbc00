package org.deltadit.dit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.deltadit.engine.Backend;
import org.deltadit.engine.DType;
import org.deltadit.engine.Tensor;
import org.deltadit.weights.Checkpoint;
import org.deltadit.weights.CheckpointException;
import org.deltadit.weights.Json;
import org.deltadit.weights.StateDict;

/**
 * CLIP's two transformers as Hugging Face folders hold them (a CLIPModel: {@code text_model.*},
 * {@code vision_model.*}, {@code text_projection}, {@code visual_projection}; or a text encoder alone,
 * as in a diffusers {@code text_encoder/}). Both are pre-LN stacks — LayerNorm, self-attention with
 * biases, LayerNorm, MLP with quick-GELU (OpenAI's CLIP) or GELU (OpenCLIP bigG) — the text one causal
 * with a final LayerNorm and pooled at the first end-of-text token, the vision one over 14×14 patches
 * and a class token between pre_layrnorm and post_layernorm. Weights are kept as stored; computation
 * is F32.
 */
public final class ClipModel {
    /** One transformer's sizes and activation (config.json's text_config / vision_config, or the flat config of a text encoder). */
    public record Part(int hidden, int heads, int layers, boolean quickGelu, float eps) {}

    private final Map<String, Tensor> w;
    private final Part text, vision;
    private final Backend be;

    private ClipModel(Map<String, Tensor> w, Part text, Part vision, Backend be) {
        this.w = w;
        this.text = text;
        this.vision = vision;
        this.be = be;
    }

    /** Loads a CLIP folder (config.json beside one weights file); its weights are copied to the heap, the file closed. */
    public static ClipModel open(Path folder, Backend be) {
        if (!Files.isDirectory(folder)) throw new IllegalArgumentException("--clip-model: " + folder + ": no such folder");
        Path cfgFile = folder.resolve("config.json");
        if (!Files.isRegularFile(cfgFile)) throw new CheckpointException(folder + ": no config.json (a CLIP folder as Hugging Face saves it)");
        Map<String, Object> cfg = Json.readObject(cfgFile);
        Map<String, Tensor> w = new LinkedHashMap<>();
        try (StateDict sd = Checkpoint.read(Checkpoint.pickWeights(folder), null)) {
            for (String k : sd.keys()) w.put(k, sd.tensor(k).to(DType.F32));
        }
        Part text = w.containsKey("text_model.embeddings.token_embedding.weight") ? part(sub(cfg, "text_config"), w, "text_model", cfgFile) : null;
        Part vision = w.containsKey("vision_model.embeddings.patch_embedding.weight") ? part(sub(cfg, "vision_config"), w, "vision_model", cfgFile) : null;
        if (text == null && vision == null) throw new CheckpointException(folder + ": neither text_model.* nor vision_model.* weights (not a CLIP model)");
        return new ClipModel(w, text, vision, be);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> sub(Map<String, Object> cfg, String key) {
        return cfg.get(key) instanceof Map<?, ?> m ? (Map<String, Object>) m : cfg; // a text encoder's config is flat
    }

    private static Part part(Map<String, Object> c, Map<String, Tensor> w, String prefix, Path cfgFile) {
        int hidden = w.get(prefix + (prefix.startsWith("text") ? ".embeddings.token_embedding.weight" : ".embeddings.patch_embedding.weight"))
                .dim(prefix.startsWith("text") ? 1 : 0);
        int layers = 0;
        while (w.containsKey(prefix + ".encoder.layers." + layers + ".self_attn.q_proj.weight")) layers++;
        if (!(c.get("num_attention_heads") instanceof Number heads)) throw new CheckpointException(cfgFile + ": no num_attention_heads for " + prefix);
        if (hidden % heads.intValue() != 0) throw new CheckpointException(cfgFile + ": " + heads + " heads do not divide " + prefix + "'s width " + hidden);
        String act = c.get("hidden_act") instanceof String s ? s : "quick_gelu";
        if (!act.equals("quick_gelu") && !act.equals("gelu")) throw new CheckpointException(cfgFile + ": hidden_act '" + act + "' (quick_gelu or gelu)");
        float eps = c.get("layer_norm_eps") instanceof Number e ? e.floatValue() : 1e-5f;
        return new Part(hidden, heads.intValue(), layers, act.equals("quick_gelu"), eps);
    }

    public boolean hasText() { return text != null; }

    public boolean hasVision() { return vision != null; }

    /** The largest token id the embedding takes, plus one. */
    public int vocabSize() { return w.get("text_model.embeddings.token_embedding.weight").dim(0); }

    /** What the text transformer gives: the final-LN states, the states before the last layer, the pooled state and its projection (null without one). */
    public record TextOutput(Tensor last, Tensor penultimate, Tensor pooled, Tensor embeds) {}

    /** Token ids [B][L] → states; pooled at the first {@code eos} of each row. */
    public TextOutput encodeText(int[][] ids, int eos) {
        if (text == null) throw new IllegalStateException("CLIP: this folder has no text model");
        int b = ids.length, l = ids[0].length, d = text.hidden();
        Tensor tok = w.get("text_model.embeddings.token_embedding.weight"), pos = w.get("text_model.embeddings.position_embedding.weight");
        if (l > pos.dim(0)) throw new IllegalArgumentException("CLIP: " + l + " tokens, the model takes " + pos.dim(0));
        Tensor x = Tensor.zeros(b, l, d);
        for (int i = 0; i < b; i++) {
            for (int k = 0; k < l; k++) {
                int id = ids[i][k];
                if (id < 0 || id >= tok.dim(0)) throw new IllegalArgumentException("CLIP: token id " + id + " outside the vocabulary of " + tok.dim(0) + " (a tokenizer of another model?)");
                x.select(0, i).select(0, k).copyFrom(be.add(tok.select(0, id), pos.select(0, k)));
            }
        }
        float[] causal = new float[l * l];
        for (int q = 0; q < l; q++) for (int k = q + 1; k < l; k++) causal[q * l + k] = -Float.MAX_VALUE;
        Tensor mask = Tensor.of(causal, 1, 1, l, l), penultimate = x;
        for (int layer = 0; layer < text.layers(); layer++) {
            penultimate = x;
            x = layer(x, "text_model.encoder.layers." + layer, text, mask);
        }
        Tensor last = be.layerNorm(x, w.get("text_model.final_layer_norm.weight"), w.get("text_model.final_layer_norm.bias"), text.eps());
        Tensor pooled = Tensor.zeros(b, d);
        for (int i = 0; i < b; i++) {
            int at = 0;
            while (at < l - 1 && ids[i][at] != eos) at++;
            pooled.select(0, i).copyFrom(last.select(0, i).select(0, at));
        }
        Tensor proj = w.get("text_projection.weight");
        return new TextOutput(last, penultimate, pooled, proj == null ? null : be.linear(pooled, proj, null));
    }

    /** Normalised pixels [B, 3, S, S] (S = the position table's side × the patch) → projected image embeddings [B, P]. */
    public Tensor encodeImage(Tensor pixels) {
        if (vision == null) throw new IllegalStateException("CLIP: this folder has no vision model");
        Tensor patchW = w.get("vision_model.embeddings.patch_embedding.weight"), pos = w.get("vision_model.embeddings.position_embedding.weight");
        int b = pixels.dim(0), d = vision.hidden(), p = patchW.dim(2);
        Tensor patches = be.conv2d(pixels, patchW, null, p, 0); // [B, D, S/p, S/p]
        int n = patches.dim(2) * patches.dim(3);
        if (n + 1 != pos.dim(0)) throw new IllegalArgumentException("CLIP: " + n + " patches of " + pixels.shapeString() + ", the model has " + (pos.dim(0) - 1) + " positions");
        Tensor x = Tensor.zeros(b, n + 1, d);
        Tensor tokens = patches.reshape(b, d, n).permute(0, 2, 1);
        for (int i = 0; i < b; i++) {
            x.select(0, i).select(0, 0).copyFrom(w.get("vision_model.embeddings.class_embedding"));
            x.select(0, i).slice(0, 1, n + 1).copyFrom(tokens.select(0, i));
        }
        x = be.add(x, pos.unsqueeze(0));
        x = be.layerNorm(x, w.get("vision_model.pre_layrnorm.weight"), w.get("vision_model.pre_layrnorm.bias"), vision.eps());
        for (int layer = 0; layer < vision.layers(); layer++) x = layer(x, "vision_model.encoder.layers." + layer, vision, null);
        Tensor cls = x.slice(1, 0, 1).reshape(b, d).contiguous();
        cls = be.layerNorm(cls, w.get("vision_model.post_layernorm.weight"), w.get("vision_model.post_layernorm.bias"), vision.eps());
        Tensor proj = w.get("visual_projection.weight");
        if (proj == null) throw new CheckpointException("CLIP: no visual_projection.weight (a vision model without its projection cannot score)");
        return be.linear(cls, proj, null);
    }

    /** One pre-LN layer: x + attn(LN(x)), then + MLP(LN(x)). */
    private Tensor layer(Tensor x, String p, Part c, Tensor mask) {
        int b = x.dim(0), l = x.dim(1), d = c.hidden(), h = c.heads(), hd = d / h;
        Tensor n = be.layerNorm(x, w.get(p + ".layer_norm1.weight"), w.get(p + ".layer_norm1.bias"), c.eps());
        Tensor q = heads(be.linear(n, w.get(p + ".self_attn.q_proj.weight"), w.get(p + ".self_attn.q_proj.bias")), b, l, h, hd);
        Tensor k = heads(be.linear(n, w.get(p + ".self_attn.k_proj.weight"), w.get(p + ".self_attn.k_proj.bias")), b, l, h, hd);
        Tensor v = heads(be.linear(n, w.get(p + ".self_attn.v_proj.weight"), w.get(p + ".self_attn.v_proj.bias")), b, l, h, hd);
        Tensor att = Tensor.zeros(b, l, h, hd);
        be.attention(q, k, v, mask, (float) (1 / Math.sqrt(hd)), att.permute(0, 2, 1, 3));
        x = be.add(x, be.linear(att.reshape(b, l, d), w.get(p + ".self_attn.out_proj.weight"), w.get(p + ".self_attn.out_proj.bias")));
        n = be.layerNorm(x, w.get(p + ".layer_norm2.weight"), w.get(p + ".layer_norm2.bias"), c.eps());
        Tensor up = be.linear(n, w.get(p + ".mlp.fc1.weight"), w.get(p + ".mlp.fc1.bias"));
        // quick-GELU x·σ(1.702x) = SiLU(1.702x) / 1.702
        Tensor act = c.quickGelu() ? be.scale(be.silu(be.scale(up, 1.702f)), 1 / 1.702f) : be.gelu(up, false);
        return be.add(x, be.linear(act, w.get(p + ".mlp.fc2.weight"), w.get(p + ".mlp.fc2.bias")));
    }

    private static Tensor heads(Tensor t, int b, int l, int h, int hd) { return t.reshape(b, l, h, hd).permute(0, 2, 1, 3); }
}
