package org.deltadit.pipeline;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.deltadit.dit.ClipModel;
import org.deltadit.dit.ModelLoader;
import org.deltadit.dit.T5Encoder;
import org.deltadit.dit.T5Tokenizer;
import org.deltadit.engine.Backend;
import org.deltadit.engine.InvalidParameter;
import org.deltadit.engine.Tensor;
import org.deltadit.weights.Sd3Config;

/**
 * SD3's prompts through its three encoders, as StableDiffusion3Pipeline does: CLIP-L (text_encoder/,
 * tokenizer/) and OpenCLIP bigG (text_encoder_2/, tokenizer_2/), 77 tokens each — their states before
 * the last layer side by side, zero-padded to the joint width, and their projected pooled outputs side
 * by side — then T5 (text_encoder_3/, tokenizer_3/; 256 tokens, case kept, no attention mask), whose
 * states follow the CLIP tokens. Without text_encoder_3 (SD3 "without T5") the T5 tokens are zeros.
 */
final class Sd3Text {
    private Sd3Text() {}

    static final int T5_TOKENS = 256;

    /** Context [R, 77 + 256, joint] and pooled [R, pooled] of each text. */
    record Encoded(Tensor context, Tensor pooled) {}

    static Encoded encode(Path repo, List<String> texts, Sd3Config cfg, Backend be) {
        int r = texts.size();
        ClipModel.TextOutput l = clip(repo, "text_encoder", "tokenizer", texts, be), g = clip(repo, "text_encoder_2", "tokenizer_2", texts, be);
        int wide = l.penultimate().dim(2) + g.penultimate().dim(2), joint = cfg.jointAttentionDim();
        if (wide > joint) throw new InvalidParameter("model", repo + ": the CLIP encoders give " + wide + " channels, the transformer's context takes " + joint);
        if (l.embeds().dim(1) + g.embeds().dim(1) != cfg.pooledDim()) {
            throw new InvalidParameter("model", repo + ": the CLIP encoders pool " + (l.embeds().dim(1) + g.embeds().dim(1)) + " values, the transformer takes " + cfg.pooledDim());
        }
        Tensor clipStates = Tensor.concat(2, l.penultimate(), g.penultimate());
        if (wide < joint) clipStates = Tensor.concat(2, clipStates, Tensor.zeros(r, clipStates.dim(1), joint - wide));
        Tensor t5 = t5(repo, texts, joint, be);
        return new Encoded(Tensor.concat(1, clipStates, t5), Tensor.concat(1, l.embeds(), g.embeds()));
    }

    private static ClipModel.TextOutput clip(Path repo, String encoder, String tokenizer, List<String> texts, Backend be) {
        ClipModel.TextOutput out = ClipText.encode(repo, encoder, tokenizer, texts, be);
        if (out.embeds() == null) throw new InvalidParameter("model", repo.resolve(encoder) + ": no text_projection (SD3 uses CLIPTextModelWithProjection)");
        return out;
    }

    private static Tensor t5(Path repo, List<String> texts, int joint, Backend be) {
        Path enc = repo.resolve("text_encoder_3");
        if (!Files.isDirectory(enc)) return Tensor.zeros(texts.size(), T5_TOKENS, joint); // SD3 without T5, as diffusers does
        try (T5Tokenizer tok = T5Tokenizer.open(repo.resolve("tokenizer_3"), T5_TOKENS, false); T5Encoder t5 = ModelLoader.t5(enc, be)) {
            if (t5.config().dModel() != joint) throw new InvalidParameter("model", enc + ": T5 gives " + t5.config().dModel() + " channels, the transformer's context takes " + joint);
            T5Tokenizer.Tokens ids = tok.encode(texts);
            float[][] all = new float[texts.size()][T5_TOKENS];
            for (float[] row : all) java.util.Arrays.fill(row, 1f); // SD3 attends to the padding too
            return t5.encode(ids.ids(), all);
        }
    }
}
