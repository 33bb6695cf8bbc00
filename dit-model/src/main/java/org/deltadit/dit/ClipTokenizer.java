package org.deltadit.dit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.deltadit.weights.CheckpointException;
import org.deltadit.weights.Json;

/**
 * CLIP's byte-level BPE tokenizer (OpenAI's, as Hugging Face's CLIPTokenizer folders carry it:
 * {@code vocab.json} and {@code merges.txt}). Text is cleaned — HTML entities unescaped twice,
 * whitespace runs collapsed — and lower-cased; split into words, contractions, single digits and
 * punctuation runs; each piece's UTF-8 bytes are mapped to printable characters, '&lt;/w&gt;' marks its
 * end, and adjacent symbols merge by rank. Ids are {@code <|startoftext|>}, the pieces, {@code <|endoftext|>},
 * cut to the length (77) and padded with the pad id. Not done: ftfy's repair of mis-decoded text (mojibake).
 */
public final class ClipTokenizer {
    /** Hugging Face reads at most this many merges after the header (49152 − 256 − 2: the published vocabulary). */
    static final int MAX_MERGES = 49152 - 256 - 2;
    private static final Pattern SPLIT = Pattern.compile("<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern SPACES = Pattern.compile("\\s+", Pattern.UNICODE_CHARACTER_CLASS);
    private static final String[] BYTE = byteChars();

    private final Map<String, Integer> vocab;
    private final Map<String, Integer> ranks = new HashMap<>();
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();
    private final int bos, eos, pad, length;

    private ClipTokenizer(Map<String, Integer> vocab, List<String> merges, int pad, int length, String where) {
        this.vocab = vocab;
        for (int i = 0; i < merges.size(); i++) ranks.put(merges.get(i), i);
        this.bos = id(vocab, "<|startoftext|>", where);
        this.eos = id(vocab, "<|endoftext|>", where);
        this.pad = pad < 0 ? eos : pad;
        this.length = length;
    }

    private static int id(Map<String, Integer> vocab, String token, String where) {
        Integer i = vocab.get(token);
        if (i == null) throw new CheckpointException(where + ": vocab.json has no '" + token + "' (not a CLIP tokenizer)");
        return i;
    }

    /**
     * The tokenizer of a folder with vocab.json and merges.txt (a diffusers {@code tokenizer/} or a CLIP
     * model folder); the pad token is tokenizer_config.json's {@code pad_token} (SD 2 and bigG pad with
     * "!"), else {@code <|endoftext|>}.
     */
    public static ClipTokenizer open(Path folder, int length) {
        Path vocabFile = folder.resolve("vocab.json"), mergesFile = folder.resolve("merges.txt");
        if (!Files.isRegularFile(vocabFile) || !Files.isRegularFile(mergesFile)) {
            throw new CheckpointException(folder + ": not a CLIP tokenizer folder (needs vocab.json and merges.txt)");
        }
        Map<String, Integer> vocab = new HashMap<>();
        for (Map.Entry<String, Object> e : Json.readObject(vocabFile).entrySet()) {
            if (!(e.getValue() instanceof Number n)) throw new CheckpointException(vocabFile + ": '" + e.getKey() + "' maps to " + e.getValue() + ", not an id");
            vocab.put(e.getKey(), n.intValue());
        }
        List<String> merges = new ArrayList<>();
        try {
            List<String> lines = Files.readAllLines(mergesFile, StandardCharsets.UTF_8);
            for (int i = 0; i < lines.size() && merges.size() < MAX_MERGES; i++) {
                String l = lines.get(i).strip();
                if (l.isEmpty() || (i == 0 && l.startsWith("#version"))) continue;
                String[] pair = l.split(" ");
                if (pair.length != 2) throw new CheckpointException(mergesFile + ": line " + (i + 1) + " is not a pair of symbols: '" + l + "'");
                merges.add(pair[0] + " " + pair[1]);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(mergesFile + ": " + e.getMessage(), e);
        }
        int pad = -1;
        Path config = folder.resolve("tokenizer_config.json");
        if (Files.isRegularFile(config)) {
            Object p = Json.readObject(config).get("pad_token");
            if (p instanceof Map<?, ?> m) p = m.get("content");
            if (p instanceof String s) pad = id(vocab, s, config.toString());
        }
        return new ClipTokenizer(vocab, merges, pad, length, folder.toString());
    }

    public int length() { return length; }

    public int eosId() { return eos; }

    public int vocabSize() { return vocab.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1; }

    /** The ids of one prompt, exactly {@link #length} of them. */
    public int[] encode(String text) {
        List<Integer> ids = new ArrayList<>();
        ids.add(bos);
        Matcher m = SPLIT.matcher(clean(text));
        while (m.find()) {
            StringBuilder b = new StringBuilder();
            for (byte x : m.group().getBytes(StandardCharsets.UTF_8)) b.append(BYTE[x & 0xff]);
            for (int id : cache.computeIfAbsent(b.toString(), this::bpe)) ids.add(id);
        }
        int[] out = new int[length];
        int n = Math.min(ids.size(), length - 1);
        for (int i = 0; i < n; i++) out[i] = ids.get(i);
        out[n] = eos;
        for (int i = n + 1; i < length; i++) out[i] = pad;
        return out;
    }

    /** Whether the prompt's pieces did not all fit (they are cut, as every CLIP pipeline does). */
    public boolean truncates(String text) {
        int pieces = 2;
        Matcher m = SPLIT.matcher(clean(text));
        while (m.find() && pieces <= length) {
            StringBuilder b = new StringBuilder();
            for (byte x : m.group().getBytes(StandardCharsets.UTF_8)) b.append(BYTE[x & 0xff]);
            pieces += cache.computeIfAbsent(b.toString(), this::bpe).length;
        }
        return pieces > length;
    }

    /** Merges the symbols of one piece by rank, lowest first, until no ranked pair is left. */
    private int[] bpe(String piece) {
        List<String> word = new ArrayList<>();
        int[] cps = piece.codePoints().toArray();
        for (int i = 0; i < cps.length; i++) word.add(new String(cps, i, 1) + (i == cps.length - 1 ? "</w>" : ""));
        while (word.size() > 1) {
            int best = Integer.MAX_VALUE;
            String first = null, second = null;
            for (int i = 0; i + 1 < word.size(); i++) {
                Integer r = ranks.get(word.get(i) + " " + word.get(i + 1));
                if (r != null && r < best) {
                    best = r;
                    first = word.get(i);
                    second = word.get(i + 1);
                }
            }
            if (first == null) break;
            List<String> merged = new ArrayList<>();
            for (int i = 0; i < word.size(); i++) {
                if (i + 1 < word.size() && word.get(i).equals(first) && word.get(i + 1).equals(second)) {
                    merged.add(first + second);
                    i++;
                } else {
                    merged.add(word.get(i));
                }
            }
            word = merged;
        }
        int[] ids = new int[word.size()];
        for (int i = 0; i < ids.length; i++) {
            Integer id = vocab.get(word.get(i));
            if (id == null) throw new CheckpointException("CLIP tokenizer: the symbol '" + word.get(i) + "' is not in vocab.json (vocab.json and merges.txt do not belong together)");
            ids[i] = id;
        }
        return ids;
    }

    /** HTML entities unescaped twice, whitespace runs collapsed, stripped, lower-cased. */
    static String clean(String text) {
        String t = unescape(unescape(text)).strip();
        return SPACES.matcher(t).replaceAll(" ").strip().toLowerCase(Locale.ROOT);
    }

    private static final Pattern ENTITY = Pattern.compile("&(#[0-9]+|#[xX][0-9a-fA-F]+|amp|lt|gt|quot|apos|nbsp);");

    /** The entities prompts carry in practice (numeric, &amp;amp; &amp;lt; &amp;gt; &amp;quot; &amp;apos; &amp;nbsp;). */
    static String unescape(String s) {
        Matcher m = ENTITY.matcher(s);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String e = m.group(1);
            String r = switch (e) {
                case "amp" -> "&";
                case "lt" -> "<";
                case "gt" -> ">";
                case "quot" -> "\"";
                case "apos" -> "'";
                case "nbsp" -> "\u00a0";
                default -> {
                    int cp = e.charAt(1) == 'x' || e.charAt(1) == 'X' ? Integer.parseInt(e.substring(2), 16) : Integer.parseInt(e.substring(1));
                    yield Character.isValidCodePoint(cp) ? new String(Character.toChars(cp)) : m.group();
                }
            };
            m.appendReplacement(out, Matcher.quoteReplacement(r));
        }
        m.appendTail(out);
        return out.toString();
    }

    /** GPT-2's map of the 256 byte values to printable characters: printable Latin-1 bytes map to themselves, the rest to 256 + n. */
    private static String[] byteChars() {
        String[] out = new String[256];
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            out[b] = new String(Character.toChars(printable ? b : 256 + n++));
        }
        return out;
    }
}
