package org.deltadit.eval;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.deltadit.dit.ClipModel;
import org.deltadit.dit.ClipTokenizer;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Tensor;
import org.deltadit.pipeline.Image;
import org.deltadit.weights.CheckpointException;
import org.deltadit.weights.Json;

/**
 * CLIP score as torchmetrics defines it: 100 · max(cos(image embedding, text embedding), 0) per
 * image–prompt pair, averaged. Images go through CLIP's preprocessing (preprocessor_config.json, else
 * CLIP's defaults): the shortest side to 224 by Pillow's bicubic, the centre 224×224, /255, normalised by
 * CLIP's mean and standard deviation; prompts through the folder's BPE tokenizer, cut to 77 tokens.
 */
public final class ClipScorer {
    private final ClipModel model;
    private final ClipTokenizer tokenizer;
    private final int size, crop;
    private final float[] mean, std;

    private ClipScorer(ClipModel model, ClipTokenizer tokenizer, int size, int crop, float[] mean, float[] std) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.size = size;
        this.crop = crop;
        this.mean = mean;
        this.std = std;
    }

    /** A CLIP model folder (config.json, weights, vocab.json, merges.txt; preprocessor_config.json optional). */
    public static ClipScorer open(Path folder, Backend be) {
        ClipModel m = ClipModel.open(folder, be);
        if (!m.hasText() || !m.hasVision()) throw new CheckpointException(folder + ": a CLIP score needs both the text and the vision model (a CLIPModel folder)");
        Path tokFolder = Files.isRegularFile(folder.resolve("vocab.json")) ? folder : folder.resolve("tokenizer");
        ClipTokenizer tok = ClipTokenizer.open(tokFolder, 77);
        if (tok.vocabSize() > m.vocabSize()) throw new CheckpointException(folder + ": the tokenizer has " + tok.vocabSize() + " ids, the text model " + m.vocabSize() + " (they do not belong together)");
        int size = 224, crop = 224;
        float[] mean = {0.48145466f, 0.4578275f, 0.40821073f}, std = {0.26862954f, 0.26130258f, 0.27577711f};
        Path pre = folder.resolve("preprocessor_config.json");
        if (Files.isRegularFile(pre)) {
            Map<String, Object> c = Json.readObject(pre);
            if (c.get("size") instanceof Map<?, ?> s && s.get("shortest_edge") instanceof Number n) size = n.intValue();
            else if (c.get("size") instanceof Number n) size = n.intValue();
            if (c.get("crop_size") instanceof Map<?, ?> s && s.get("height") instanceof Number n) crop = n.intValue();
            else if (c.get("crop_size") instanceof Number n) crop = n.intValue();
            if (c.get("image_mean") instanceof List<?> l && l.size() == 3) for (int i = 0; i < 3; i++) mean[i] = ((Number) l.get(i)).floatValue();
            if (c.get("image_std") instanceof List<?> l && l.size() == 3) for (int i = 0; i < 3; i++) std[i] = ((Number) l.get(i)).floatValue();
        }
        return new ClipScorer(m, tok, size, crop, mean, std);
    }

    /** Pixels [B, 3, crop, crop] as CLIP's preprocessing makes them. */
    public Tensor preprocess(List<Image> images) {
        float[] out = new float[images.size() * 3 * crop * crop];
        for (int i = 0; i < images.size(); i++) {
            Image im = images.get(i);
            int w = im.width(), h = im.height();
            byte[] rgb = new byte[w * h * 3];
            for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) for (int c = 0; c < 3; c++) rgb[(y * w + x) * 3 + c] = (byte) im.sample(x, y, Math.min(c, im.channels() - 1));
            boolean wide = w > h;
            int shortSide = Math.min(w, h), longSide = Math.max(w, h), newLong = (int) ((long) size * longSide / shortSide);
            int rw = wide ? newLong : size, rh = wide ? size : newLong;
            if (rw < crop || rh < crop) throw new IllegalArgumentException("CLIP: " + w + "×" + h + " resized to " + rw + "×" + rh + " is smaller than the " + crop + " crop");
            byte[] r = PilResize.bicubic(rgb, w, h, 3, rw, rh);
            int top = (rh - crop) / 2, left = (rw - crop) / 2;
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < crop; y++) {
                    for (int x = 0; x < crop; x++) {
                        float v = (r[((top + y) * rw + left + x) * 3 + c] & 0xff) / 255f;
                        out[((i * 3 + c) * crop + y) * crop + x] = (v - mean[c]) / std[c];
                    }
                }
            }
        }
        return Tensor.of(out, images.size(), 3, crop, crop);
    }

    /** The score of each image with its prompt: 100 · max(cos, 0). */
    public double[] scores(List<Image> images, List<String> prompts) {
        if (images.size() != prompts.size()) throw new IllegalArgumentException("CLIP score: " + images.size() + " images and " + prompts.size() + " prompts");
        int[][] ids = new int[prompts.size()][];
        for (int i = 0; i < ids.length; i++) ids[i] = tokenizer.encode(prompts.get(i));
        return scores(model.encodeImage(preprocess(images)), model.encodeText(ids, tokenizer.eosId()).embeds());
    }

    /** 100 · max(cos(image_i, text_i), 0) of paired embeddings [B, P]. */
    public static double[] scores(Tensor imageEmbeds, Tensor textEmbeds) {
        int b = imageEmbeds.dim(0), p = imageEmbeds.dim(1);
        double[] out = new double[b];
        for (int i = 0; i < b; i++) {
            double dot = 0, na = 0, nb = 0;
            for (int k = 0; k < p; k++) {
                double x = imageEmbeds.get(i, k), y = textEmbeds.get(i, k);
                dot += x * y;
                na += x * x;
                nb += y * y;
            }
            out[i] = Math.max(100 * dot / Math.max(Math.sqrt(na) * Math.sqrt(nb), 1e-8), 0);
        }
        return out;
    }

    public ClipModel model() { return model; }
}
