package org.deltadit.dit;

import ai.djl.sentencepiece.SpTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * T5's SentencePiece tokenizer as PixArt-α uses it (model-formats.md §2.2, §4): the prompt lower-cased
 * and stripped (diffusers with clean_caption off), SentencePiece ids, then {@code </s>} (id 1); truncated
 * to maxLength − 1 pieces so {@code </s>} fits, padded with {@code <pad>} (id 0) to maxLength; the mask is
 * 1 up to and including {@code </s>}. The SentencePiece model itself runs in DJL's native binding.
 */
public final class T5Tokenizer implements AutoCloseable {
    public static final int PAD = 0, EOS = 1;
    private final SpTokenizer sp;
    private final int maxLength;
    private final boolean lowerCase;

    /** Token ids and masks of a batch of prompts, each padded to maxLength; {@code truncated[i]}: prompt i lost pieces. */
    public record Tokens(int[][] ids, float[][] mask, boolean[] truncated) {}

    private T5Tokenizer(SpTokenizer sp, int maxLength, boolean lowerCase) {
        this.lowerCase = lowerCase;
        this.sp = sp;
        this.maxLength = maxLength;
    }

    /** {@code spiece.model} (a file, or a tokenizer/ folder holding it). */
    public static T5Tokenizer open(Path model, int maxLength) { return open(model, maxLength, true); }

    /** As above; {@code lowerCase} false keeps the prompt's case (SD3's T5; PixArt lower-cases). */
    public static T5Tokenizer open(Path model, int maxLength, boolean lowerCase) {
        if (maxLength < 2) throw new IllegalArgumentException("tokenizer: max length " + maxLength + " leaves no room for </s>");
        Path file = Files.isDirectory(model) ? model.resolve("spiece.model") : model;
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException(file + ": no SentencePiece model (spiece.model)");
        try {
            return new T5Tokenizer(new SpTokenizer(Files.readAllBytes(file)), maxLength, lowerCase);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read (" + e.getMessage() + ")", e);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(file + ": not a SentencePiece model (" + e.getMessage() + ")", e);
        }
    }

    public int maxLength() { return maxLength; }

    public Tokens encode(List<String> prompts) {
        int n = prompts.size();
        int[][] ids = new int[n][maxLength];
        float[][] mask = new float[n][maxLength];
        boolean[] truncated = new boolean[n];
        for (int i = 0; i < n; i++) {
            String text = lowerCase ? prompts.get(i).toLowerCase(Locale.ROOT).strip() : prompts.get(i).strip();
            int[] pieces = text.isEmpty() ? new int[0] : sp.getProcessor().encode(text);
            int keep = Math.min(pieces.length, maxLength - 1);
            truncated[i] = keep < pieces.length;
            System.arraycopy(pieces, 0, ids[i], 0, keep);
            ids[i][keep] = EOS;
            for (int k = 0; k <= keep; k++) mask[i][k] = 1;
        }
        return new Tokens(ids, mask, truncated);
    }

    @Override
    public void close() { sp.close(); }
}
