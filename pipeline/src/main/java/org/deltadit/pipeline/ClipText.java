package org.deltadit.pipeline;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.deltadit.dit.ClipModel;
import org.deltadit.dit.ClipTokenizer;
import org.deltadit.engine.Backend;
import org.deltadit.engine.InvalidParameter;
import org.deltadit.engine.Tensor;

/** SD 1.x's prompts: a repository's text_encoder/ and tokenizer/ (CLIP-L), 77 tokens, the final-LayerNorm states. */
final class ClipText {
    private ClipText() {}

    /** [texts, 77, width]; the width must be the U-Net's cross-attention width. */
    static Tensor lastStates(Path repo, List<String> texts, int crossDim, Backend be) {
        Path enc = repo.resolve("text_encoder"), tok = repo.resolve("tokenizer");
        if (!Files.isDirectory(enc) || !Files.isDirectory(tok)) throw new InvalidParameter("model", repo + ": an SD 1.x repository needs text_encoder/ and tokenizer/");
        ClipTokenizer t = ClipTokenizer.open(tok, 77);
        ClipModel m = ClipModel.open(enc, be);
        if (!m.hasText()) throw new InvalidParameter("model", enc + ": no CLIP text model");
        if (t.vocabSize() > m.vocabSize()) throw new InvalidParameter("model", tok + ": " + t.vocabSize() + " token ids for an encoder of " + m.vocabSize() + " (they do not belong together)");
        int[][] ids = new int[texts.size()][];
        for (int i = 0; i < ids.length; i++) ids[i] = t.encode(texts.get(i));
        Tensor last = m.encodeText(ids, t.eosId()).last();
        if (last.dim(2) != crossDim) throw new InvalidParameter("model", enc + ": CLIP gives " + last.dim(2) + " channels, the U-Net attends to " + crossDim);
        return last;
    }
}
