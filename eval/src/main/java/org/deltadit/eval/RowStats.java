package org.deltadit.eval;

import java.io.Serializable;

/**
 * What one comparison row measured on some of its images, as sums that merge by adding: a cluster
 * measures each partition where it runs and reduces the rows once; one machine measures all its images
 * as one part. The table is computed from the merged sums, so both print the same figures.
 */
public final class RowStats implements Serializable {
    int count, correct;
    long macs, uncachedMacs;
    double seconds;
    final ExactSums quality = new ExactSums(2); // PSNR, SSIM: order-independent, like the feature moments
    final Fid.Moments features; // the digit CNN's; null without it
    final Fid.Moments inception; // Inception-v3 pool features; null without --metrics fid
    final InceptionScore is;     // null without --metrics is
    final ExactSums clip;        // Σ CLIP score; null without --metrics clip
    /** The digit CNN's features of each image by its index (null without it): {@link FidBootstrap} resamples them. */
    final java.util.TreeMap<Integer, float[]> cnnByImage;

    /** Empty sums: feature widths 0 for networks not in use, {@code is} null without IS. */
    public RowStats(int featureWidth, int inceptionWidth, InceptionScore is, boolean clip) {
        features = featureWidth > 0 ? new Fid.Moments(featureWidth) : null;
        cnnByImage = featureWidth > 0 ? new java.util.TreeMap<>() : null;
        inception = inceptionWidth > 0 ? new Fid.Moments(inceptionWidth) : null;
        this.is = is;
        this.clip = clip ? new ExactSums(1) : null;
    }

    /** Adds {@code o}'s sums to these; returns this. */
    public RowStats merge(RowStats o) {
        count += o.count;
        correct += o.correct;
        macs += o.macs;
        uncachedMacs += o.uncachedMacs;
        seconds += o.seconds;
        quality.merge(o.quality);
        if (features != null) {
            features.merge(o.features);
            cnnByImage.putAll(o.cnnByImage);
        }
        if (inception != null) inception.merge(o.inception);
        if (is != null) is.merge(o.is);
        if (clip != null) clip.merge(o.clip);
        return this;
    }

    /** Drops each image's features (a cluster's part that no bootstrap will read ships only the sums); returns this. */
    public RowStats withoutImages() {
        if (cnnByImage != null) cnnByImage.clear();
        return this;
    }

    /** How many images' features this holds (0 without the CNN or after {@link #withoutImages}). */
    public int imagesHeld() { return cnnByImage == null ? 0 : cnnByImage.size(); }

    public int count() { return count; }

    /** MACs per image, paper convention. */
    public long macsPerImage() { return macs / count; }

    /** MACs of the uncached run at the full row's steps over this row's MACs. */
    public double speedup() { return uncachedMacs / (double) macs; }

    /** Sampling seconds per image, summed over wherever the images ran. */
    public double secondsPerImage() { return seconds / count; }

    /** Mean PSNR against the full row's image from the same noise (each capped at 100 dB). */
    public double psnr() { return quality.get(0) / count; }

    /** Mean SSIM against the full row's image (NaN for images under 11×11). */
    public double ssim() { return quality.get(1) / count; }

    /** Classifier accuracy, null without an evaluation network. */
    public Double accuracy() { return features == null ? null : correct / (double) count; }

    /** The mean CLIP score of the row's images with their prompts (NaN without --metrics clip). */
    public double clipScore() { return clip == null ? Double.NaN : clip.get(0) / count; }

    /** FID of the Inception-v3 features against {@code real}; null without --metrics fid or with fewer than 2 images. */
    public Double fidInception(Fid.Stats real) { return inception == null || real == null || count < 2 ? null : Fid.distance(inception.stats(), real); }

    /** FID of this row's features against {@code real}; null without a network or with fewer than 2 images. */
    public Double fid(Fid.Stats real) { return features == null || real == null || count < 2 ? null : Fid.distance(features.stats(), real); }
}
