package org.deltadit.pipeline;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.deltadit.dit.ClipModel;
import org.deltadit.dit.ClipTokenizer;
import org.deltadit.engine.Backend;
import org.deltadit.engine.InvalidParameter;
import org.deltadit.engine.Tensor;

/** A Stable Diffusion repository's CLIP text encoders: an encoder folder and its tokenizer folder, 77 tokens. */
final class ClipText {
    private ClipText() {}

    /** The texts through {@code encoder}/ with {@code tokenizer}/; a missing or mismatched part is an InvalidParameter naming the model. */
    static ClipModel.TextOutput encode(Path repo, String encoder, String tokenizer, List<String> texts, Backend be) {
        Path enc = repo.resolve(encoder), tok = repo.resolve(tokenizer);
        if (!Files.isDirectory(enc) || !Files.isDirectory(tok)) throw new InvalidParameter("model", repo + ": the repository needs " + encoder + "/ and " + tokenizer + "/");
        ClipTokenizer t = ClipTokenizer.open(tok, 77);
        ClipModel m = ClipModel.open(enc, be);
        if (!m.hasText()) throw new InvalidParameter("model", enc + ": no CLIP text model");
        if (t.vocabSize() > m.vocabSize()) throw new InvalidParameter("model", tok + ": " + t.vocabSize() + " token ids for an encoder of " + m.vocabSize() + " (they do not belong together)");
        int[][] ids = new int[texts.size()][];
        for (int i = 0; i < ids.length; i++) ids[i] = t.encode(texts.get(i));
        return m.encodeText(ids, t.eosId());
    }

    /** SD 1.x: text_encoder/ and tokenizer/ (CLIP-L), the final-LayerNorm states [texts, 77, width]; the width must be the U-Net's cross-attention width. */
    static Tensor lastStates(Path repo, List<String> texts, int crossDim, Backend be) {
        Path enc = repo.resolve("text_encoder");
        Tensor last = encode(repo, "text_encoder", "tokenizer", texts, be).last();
        if (last.dim(2) != crossDim) throw new InvalidParameter("model", enc + ": CLIP gives " + last.dim(2) + " channels, the U-Net attends to " + crossDim);
        return last;
    }
}
