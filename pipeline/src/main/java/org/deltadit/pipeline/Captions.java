package org.deltadit.pipeline;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.deltadit.dit.CaptionFeatures;
import org.deltadit.dit.ModelLoader;
import org.deltadit.dit.PixArtModel;
import org.deltadit.dit.T5Encoder;
import org.deltadit.dit.T5Tokenizer;
import org.deltadit.engine.Backend;
import org.deltadit.engine.DType;
import org.deltadit.engine.InvalidParameter;
import org.deltadit.engine.Tensor;
import org.deltadit.weights.CheckpointException;
import org.deltadit.weights.CheckpointFormat;
import org.deltadit.weights.Safetensors;
import org.deltadit.weights.StateDict;

/**
 * The caption features of a PixArt-α run (DESIGN.md §6): from --text-embeddings, or by tokenising the
 * prompts and running the T5 encoder of the model's repository (text_encoder/, tokenizer/) or of
 * --text-encoder / --tokenizer. The unconditional branch follows the checkpoint: the original layout's
 * learned null caption under each prompt's mask, diffusers' encoded negative prompt ("" by default).
 * The encoder is closed (its memory freed) before this returns, so denoising starts without it.
 */
public final class Captions {
    private Captions() {}

    /** Conditional features (one row per image) and unconditional ones (null without guidance). */
    public record Pair(CaptionFeatures cond, CaptionFeatures uncond) {}

    /** Where the text side comes from; null fields were not given. */
    record Sources(List<String> prompts, String negative, Path embeddings, Path encoder, Path tokenizer, Path repository) {}

    static Pair resolve(Sources s, PixArtModel m, CheckpointFormat format, int images, boolean guided, Backend be) {
        boolean original = format == CheckpointFormat.PIXART_ORIGINAL && m.nullCaption() != null;
        if (s.embeddings() != null) {
            try (StateDict sd = Safetensors.open(s.embeddings())) {
                CaptionFeatures cond = read(sd, "embeds", "mask", m, s.embeddings());
                CaptionFeatures uncond = sd.has("negative_embeds") ? read(sd, "negative_embeds", "negative_mask", m, s.embeddings()) : null;
                if (cond.count() != 1 && cond.count() != images) {
                    throw new InvalidParameter("textEmbeddings", cond.count() + " captions for " + images + " images (give 1 or " + images + ")");
                }
                if (cond.count() != images) cond = cond.pick(new int[images]);
                if (guided && uncond == null) uncond = original ? nullCaption(m, cond) : encodeNegative(s, be, m);
                return new Pair(cond, guided ? uncond : null);
            }
        }
        if (s.prompts() == null || s.prompts().isEmpty()) throw new InvalidParameter("prompts", "a text-to-image model needs prompts (or text embeddings)");
        // each distinct caption is encoded once (T5-XXL: about 1 TFLOP per caption), then repeated per image
        List<String> texts = new ArrayList<>(new java.util.LinkedHashSet<>(s.prompts()));
        boolean needNegative = guided && !original;
        if (needNegative) texts.add(s.negative() == null ? "" : s.negative());
        CaptionFeatures all = encode(s, be, m, texts);
        int[] row = new int[images];
        for (int i = 0; i < images; i++) row[i] = texts.indexOf(s.prompts().get(i % s.prompts().size()));
        CaptionFeatures cond = all.pick(row);
        CaptionFeatures uncond = !guided ? null : original ? nullCaption(m, cond) : all.rows(texts.size() - 1, texts.size(), all.tokens());
        return new Pair(cond, uncond);
    }

    /** The tokenizer and encoder found from the sources, or a message saying what to pass. */
    static CaptionFeatures encode(Sources s, Backend be, PixArtModel m, List<String> texts) {
        return encode(s, be, m, texts, m.config().maxTokens());
    }

    /** Tokenises {@code texts} to {@code max} tokens and encodes them; m (may be null) checks the width. */
    static CaptionFeatures encode(Sources s, Backend be, PixArtModel m, List<String> texts, int max) {
        Path enc = s.encoder() != null ? s.encoder() : s.repository() != null ? s.repository().resolve("text_encoder") : null;
        if (enc == null || !Files.exists(enc)) {
            throw new InvalidParameter("textEncoder", (s.repository() != null ? s.repository() + " has no text_encoder/ folder" : "none given")
                    + (m != null ? "; give one, or captions encoded by `dit encode`" : "; give one"));
        }
        Path tok = s.tokenizer() != null ? s.tokenizer() : enc.toAbsolutePath().getParent().resolve("tokenizer");
        if (!Files.exists(tok)) throw new InvalidParameter("tokenizer", tok + ": no tokenizer (spiece.model) there; give one");
        T5Tokenizer.Tokens t;
        try (T5Tokenizer tokenizer = T5Tokenizer.open(tok, max)) {
            t = tokenizer.encode(texts);
        }
        for (int i = 0; i < texts.size(); i++) {
            if (t.truncated()[i]) System.err.println("dit: warning: prompt \"" + abbreviate(texts.get(i)) + "\" is longer than " + max + " tokens; truncated");
        }
        System.err.println("dit: encoding " + texts.size() + " caption" + (texts.size() == 1 ? "" : "s") + " with T5 (" + enc + ") …");
        Tensor embeds;
        try (T5Encoder encoder = ModelLoader.t5(enc, be)) {
            if (m != null && encoder.config().dModel() != m.config().captionChannels()) {
                throw new CheckpointException(enc + ": the encoder makes " + encoder.config().dModel() + "-wide features, the model reads " + m.config().captionChannels());
            }
            embeds = encoder.encode(t.ids(), t.mask());
        }
        float[] mask = new float[texts.size() * max];
        for (int i = 0; i < texts.size(); i++) System.arraycopy(t.mask()[i], 0, mask, i * max, max);
        return new CaptionFeatures(embeds, mask);
    }

    private static CaptionFeatures encodeNegative(Sources s, Backend be, PixArtModel m) {
        try {
            return encode(s, be, m, List.of(s.negative() == null ? "" : s.negative()));
        } catch (IllegalArgumentException e) {
            throw new InvalidParameter("textEmbeddings", "no negative_embeds in the file, and this diffusers model needs the encoded empty prompt for guidance: "
                    + e.getMessage());
        }
    }

    /** The original checkpoint's learned null caption, under each row's own mask (as PixArt's code does). */
    private static CaptionFeatures nullCaption(PixArtModel m, CaptionFeatures cond) {
        Tensor nul = m.nullCaption().to(DType.F32);
        int l = cond.tokens();
        if (nul.dim(0) < l) throw new IllegalArgumentException("captions of " + l + " tokens, the null caption has " + nul.dim(0));
        Tensor rows = new CaptionFeatures(nul.slice(0, 0, l).unsqueeze(0), new float[l]).pick(new int[cond.count()]).embeds();
        return new CaptionFeatures(rows, cond.mask().clone());
    }

    private static CaptionFeatures read(StateDict sd, String embedsKey, String maskKey, PixArtModel m, Path file) {
        if (!sd.has(embedsKey)) throw new CheckpointException(file + ": no tensor '" + embedsKey + "'");
        if (!sd.has(maskKey)) throw new CheckpointException(file + ": '" + embedsKey + "' without '" + maskKey + "'");
        Tensor e = sd.tensor(embedsKey), mask = sd.tensor(maskKey);
        int c = m.config().captionChannels(), max = m.config().maxTokens();
        if (e.rank() != 3 || e.dim(2) != c || e.dim(1) > max || e.dim(1) < 1) {
            throw new CheckpointException(file + ": '" + embedsKey + "' is " + e.shapeString() + ", the model needs [n, L ≤ " + max + ", " + c + "]");
        }
        if (mask.rank() != 2 || mask.dim(0) != e.dim(0) || mask.dim(1) != e.dim(1)) {
            throw new CheckpointException(file + ": '" + maskKey + "' is " + mask.shapeString() + ", expected [" + e.dim(0) + ", " + e.dim(1) + "]");
        }
        return new CaptionFeatures(e.to(DType.F32), mask.toFloatArray());
    }

    /** Random caption features with every token valid, for timing random-weight models without a text encoder. */
    public static Pair random(org.deltadit.weights.PixArtConfig c, int images, long seed) {
        int l = c.maxTokens(), ch = c.captionChannels();
        float[] mask = new float[images * l];
        java.util.Arrays.fill(mask, 1f);
        CaptionFeatures cond = new CaptionFeatures(Tensor.of(new org.deltadit.sampler.Noise(seed + 1, images).next(0, images, l * ch), images, l, ch), mask);
        return new Pair(cond, new CaptionFeatures(Tensor.zeros(1, l, ch), java.util.Arrays.copyOf(mask, l)));
    }

    private static String abbreviate(String s) { return s.length() <= 40 ? s : s.substring(0, 37) + "…"; }

    /**
     * `dit encode`: the prompts and the negative prompt through the T5 encoder of a PixArt repository
     * ({@code repository}'s text_encoder/ and tokenizer/) or of {@code encoder} / {@code tokenizer},
     * padded to {@code maxTokens}; returns the tensors of the features file (see {@link #file}).
     */
    public static Map<String, Tensor> encodeFile(Path repository, Path encoder, Path tokenizer, List<String> prompts, String negative, int maxTokens, Backend be) {
        InvalidParameter.require(maxTokens >= 2 && maxTokens <= 4096, "maxTokens", maxTokens + " (2..4096: a token and </s> at least)");
        InvalidParameter.require(prompts != null && !prompts.isEmpty(), "prompts", "none given");
        List<String> texts = new ArrayList<>(prompts);
        texts.add(negative == null ? "" : negative);
        CaptionFeatures all = encode(new Sources(prompts, negative, null, encoder, tokenizer, repository), be, null, texts, maxTokens);
        int n = prompts.size();
        return file(all.rows(0, n, all.tokens()), all.rows(n, n + 1, all.tokens()));
    }

    /** What `dit encode` writes: the prompts' features and masks, and the negative prompt's. */
    private static Map<String, Tensor> file(CaptionFeatures cond, CaptionFeatures negative) {
        return Map.of("embeds", cond.embeds(), "mask", Tensor.of(cond.mask(), cond.count(), cond.tokens()),
                "negative_embeds", negative.embeds(), "negative_mask", Tensor.of(negative.mask(), 1, negative.tokens()));
    }

    /** One prompt per non-blank line of a UTF-8 file (--prompts); errors name the flag. */
    public static List<String> readPromptFile(Path file) {
        if (!java.nio.file.Files.isRegularFile(file)) throw new IllegalArgumentException("--prompts: " + file + ": no such file");
        try {
            List<String> out = java.nio.file.Files.readAllLines(file, java.nio.charset.StandardCharsets.UTF_8).stream().map(String::strip).filter(l -> !l.isEmpty()).toList();
            if (out.isEmpty()) throw new IllegalArgumentException("--prompts: " + file + " has no prompts (one per line)");
            return out;
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("--prompts: " + file + ": " + e.getMessage() + " (a UTF-8 text file, one prompt per line)");
        }
    }
}
