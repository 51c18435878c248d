/*
 * model.c - see model.h.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "model.h"
#include "rng.h"

void model_config_default(struct model_config *cfg, enum model_kind kind,
			  int h, int w, int classes)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->kind = kind;
	cfg->in_c = 1;
	cfg->in_h = h;
	cfg->in_w = w;
	cfg->classes = classes;
	cfg->hidden[0] = 512;
	cfg->hidden[1] = 256;
	cfg->conv[0] = 32;
	cfg->conv[1] = 64;
	cfg->fc = 128;
}

int model_kind_parse(const char *s, enum model_kind *kind)
{
	if (!strcmp(s, "mlp"))
		*kind = MODEL_MLP;
	else if (!strcmp(s, "cnn"))
		*kind = MODEL_CNN;
	else
		return -1;
	return 0;
}

const char *model_kind_name(enum model_kind kind)
{
	return kind == MODEL_CNN ? "cnn" : "mlp";
}

static void add_tensor(struct model_layout *lay, const char *layer, const char *what,
		       int ndim, int d0, int d1, int d2, int d3)
{
	struct param_tensor *t = &lay->tensors[lay->ntensors++];
	int dims[4] = { d0, d1, d2, d3 };

	snprintf(t->name, sizeof(t->name), "%s.%s", layer, what);
	t->ndim = ndim;
	t->count = 1;
	for (int i = 0; i < 4; i++) {
		t->dims[i] = i < ndim ? dims[i] : 0;
		if (i < ndim)
			t->count *= (size_t)dims[i];
	}
	t->offset = lay->nparams;
	lay->nparams += t->count;
}

/* Append a layer taking the previous one's output shape. */
static struct layer *add_layer(struct model_layout *lay, enum layer_kind kind,
			       const struct model_config *cfg)
{
	struct layer *l = &lay->layers[lay->nlayers], *prev = lay->nlayers ? l - 1 : NULL;

	memset(l, 0, sizeof(*l));
	l->kind = kind;
	l->in_c = prev ? prev->out_c : cfg->in_c;
	l->in_h = prev ? prev->out_h : cfg->in_h;
	l->in_w = prev ? prev->out_w : cfg->in_w;
	lay->nlayers++;
	return l;
}

static void add_linear(struct model_layout *lay, const struct model_config *cfg,
		       const char *name, int out, bool relu)
{
	struct layer *l = add_layer(lay, LAYER_LINEAR, cfg);
	int in = l->in_c * l->in_h * l->in_w;

	l->relu = relu;
	l->out_c = out;
	l->out_h = l->out_w = 1;
	l->w_off = lay->nparams;
	add_tensor(lay, name, "weight", 2, out, in, 0, 0);
	l->b_off = lay->nparams;
	add_tensor(lay, name, "bias", 1, out, 0, 0, 0);
}

static void add_conv(struct model_layout *lay, const struct model_config *cfg,
		     const char *name, int out)
{
	struct layer *l = add_layer(lay, LAYER_CONV3X3, cfg);

	l->relu = true;
	l->out_c = out;
	l->out_h = l->in_h;
	l->out_w = l->in_w;
	l->w_off = lay->nparams;
	add_tensor(lay, name, "weight", 4, out, l->in_c, 3, 3);
	l->b_off = lay->nparams;
	add_tensor(lay, name, "bias", 1, out, 0, 0, 0);
}

static void add_pool(struct model_layout *lay, const struct model_config *cfg)
{
	struct layer *l = add_layer(lay, LAYER_MAXPOOL2, cfg);

	l->out_c = l->in_c;
	l->out_h = l->in_h / 2;
	l->out_w = l->in_w / 2;
}

static void add_flatten(struct model_layout *lay, const struct model_config *cfg)
{
	struct layer *l = add_layer(lay, LAYER_FLATTEN, cfg);

	l->out_c = l->in_c * l->in_h * l->in_w;
	l->out_h = l->out_w = 1;
}

int model_layout(const struct model_config *cfg, struct model_layout *lay,
		 char *err, size_t errlen)
{
	memset(lay, 0, sizeof(*lay));
	if (cfg->in_c < 1 || cfg->in_h < 1 || cfg->in_w < 1 || cfg->classes < 2 ||
	    (long)cfg->in_c * cfg->in_h * cfg->in_w > 1L << 24) {
		snprintf(err, errlen, "unsupported input %dx%dx%d with %d classes",
			 cfg->in_c, cfg->in_h, cfg->in_w, cfg->classes);
		return -1;
	}
	if (cfg->kind == MODEL_MLP) {
		if (cfg->hidden[0] < 1 || cfg->hidden[1] < 1) {
			snprintf(err, errlen, "mlp: hidden widths must be positive");
			return -1;
		}
		add_linear(lay, cfg, "fc1", cfg->hidden[0], true);
		add_linear(lay, cfg, "fc2", cfg->hidden[1], true);
		add_linear(lay, cfg, "fc3", cfg->classes, false);
	} else {
		if (cfg->in_h < 4 || cfg->in_w < 4 || cfg->conv[0] < 1 ||
		    cfg->conv[1] < 1 || cfg->fc < 1) {
			snprintf(err, errlen, "cnn: needs images of at least 4x4 and positive widths");
			return -1;
		}
		add_conv(lay, cfg, "conv1", cfg->conv[0]);
		add_pool(lay, cfg);
		add_conv(lay, cfg, "conv2", cfg->conv[1]);
		add_pool(lay, cfg);
		add_flatten(lay, cfg);
		add_linear(lay, cfg, "fc1", cfg->fc, true);
		add_linear(lay, cfg, "fc2", cfg->classes, false);
	}
	return 0;
}

static size_t out_size(const struct layer *l)
{
	return (size_t)l->out_c * l->out_h * l->out_w;
}

static size_t in_size(const struct layer *l)
{
	return (size_t)l->in_c * l->in_h * l->in_w;
}

static void *alloc_floats(size_t n)
{
	size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;

	return aligned_alloc(64, bytes ? bytes : 64);
}

int model_create(struct model *m, const struct model_config *cfg, int max_batch,
		 char *err, size_t errlen)
{
	size_t act = 0, dcols = 0, nb = (size_t)max_batch;

	memset(m, 0, sizeof(*m));
	if (max_batch < 1) {
		snprintf(err, errlen, "batch of %d samples", max_batch);
		return -1;
	}
	if (model_layout(cfg, &m->lay, err, errlen))
		return -1;
	m->cfg = *cfg;
	m->max_batch = max_batch;
	m->params = alloc_floats(m->lay.nparams);
	m->grads = alloc_floats(m->lay.nparams + MODEL_GRAD_EXTRA);
	if (!m->params || !m->grads)
		goto nomem;
	memset(m->params, 0, m->lay.nparams * sizeof(float));
	memset(m->grads, 0, (m->lay.nparams + MODEL_GRAD_EXTRA) * sizeof(float));
	for (int i = 0; i < m->lay.nlayers; i++) {
		struct layer *l = &m->lay.layers[i];

		if (in_size(l) > act)
			act = in_size(l);
		if (out_size(l) > act)
			act = out_size(l);
		l->out = alloc_floats(nb * out_size(l));
		if (!l->out)
			goto nomem;
		if (l->kind == LAYER_CONV3X3) {
			size_t c = (size_t)l->in_c * 9 * nb * l->out_h * l->out_w;

			l->cols = alloc_floats(c);
			if (!l->cols)
				goto nomem;
			if (i > 0 && c > dcols)
				dcols = c;
		}
		if (l->kind == LAYER_MAXPOOL2) {
			l->argmax = malloc(nb * out_size(l) * sizeof(int32_t));
			if (!l->argmax)
				goto nomem;
		}
	}
	m->act_max = act;
	for (int i = 0; i < 2; i++) {
		m->dbuf[i] = alloc_floats(nb * act);
		if (!m->dbuf[i])
			goto nomem;
	}
	if (dcols && !(m->dcols = alloc_floats(dcols)))
		goto nomem;
	if (m->lay.layers[0].kind == LAYER_CONV3X3 && cfg->in_c > 1 &&
	    !(m->input_cnhw = alloc_floats(nb * in_size(&m->lay.layers[0]))))
		goto nomem;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory for the model's buffers (batch %d)", max_batch);
	model_free(m);
	return -1;
}

void model_free(struct model *m)
{
	for (int i = 0; i < m->lay.nlayers; i++) {
		free(m->lay.layers[i].out);
		free(m->lay.layers[i].cols);
		free(m->lay.layers[i].argmax);
	}
	free(m->params);
	free(m->grads);
	free(m->input_cnhw);
	free(m->dbuf[0]);
	free(m->dbuf[1]);
	free(m->dcols);
	memset(m, 0, sizeof(*m));
}

void model_init_params(struct model *m, uint64_t seed)
{
	struct rng r;

	rng_seed(&r, rng_mix(seed, 0x696e6974));	/* "init" */
	memset(m->params, 0, m->lay.nparams * sizeof(float));
	for (int i = 0; i < m->lay.nlayers; i++) {
		const struct layer *l = &m->lay.layers[i];
		size_t fan_in, count;
		float std;

		if (l->kind != LAYER_LINEAR && l->kind != LAYER_CONV3X3)
			continue;
		fan_in = l->kind == LAYER_LINEAR ? in_size(l) : (size_t)l->in_c * 9;
		count = (size_t)l->out_c * fan_in;
		/* He et al. for layers followed by ReLU; the logits layer gets
		 * unit gain so the first losses are near log(classes). */
		std = sqrtf((l->relu ? 2.0f : 1.0f) / (float)fan_in);
		for (size_t j = 0; j < count; j++)
			m->params[l->w_off + j] = std * rng_normal(&r);
	}
}

/* ---- layers ---- */

/* [N][C][HW] -> [C][N][HW] (and back with the roles swapped). */
static void swap_nc(const float *in, float *out, int n, int c, int hw)
{
	for (int b = 0; b < n; b++)
		for (int ch = 0; ch < c; ch++)
			memcpy(out + ((size_t)ch * n + b) * hw,
			       in + ((size_t)b * c + ch) * hw, (size_t)hw * sizeof(float));
}

static void swap_cn(const float *in, float *out, int n, int c, int hw)
{
	for (int b = 0; b < n; b++)
		for (int ch = 0; ch < c; ch++)
			memcpy(out + ((size_t)b * c + ch) * hw,
			       in + ((size_t)ch * n + b) * hw, (size_t)hw * sizeof(float));
}

/* cols[(c*3+kh)*3+kw][b][y][x] = in[c][b][y+kh-1][x+kw-1], zero outside. */
static void im2col3x3(const float *in, float *cols, int c, int n, int h, int w)
{
	size_t plane = (size_t)n * h * w;

	for (int ch = 0; ch < c; ch++)
		for (int kh = 0; kh < 3; kh++)
			for (int kw = 0; kw < 3; kw++) {
				float *dst = cols + ((size_t)(ch * 3 + kh) * 3 + kw) * plane;
				int x0 = kw == 0 ? 1 : 0, x1 = kw == 2 ? w - 1 : w;

				for (int b = 0; b < n; b++) {
					const float *src = in + ((size_t)ch * n + b) * h * w;

					for (int y = 0; y < h; y++) {
						float *d = dst + ((size_t)b * h + y) * w;
						int sy = y + kh - 1;

						if (sy < 0 || sy >= h) {
							memset(d, 0, (size_t)w * sizeof(float));
							continue;
						}
						if (x0)
							d[0] = 0.0f;
						if (x1 < w)
							d[w - 1] = 0.0f;
						memcpy(d + x0, src + (size_t)sy * w + x0 + kw - 1,
						       (size_t)(x1 - x0) * sizeof(float));
					}
				}
			}
}

/* The adjoint of im2col3x3: din = sum of the columns that read each input. */
static void col2im3x3(const float *cols, float *din, int c, int n, int h, int w)
{
	size_t plane = (size_t)n * h * w;

	memset(din, 0, (size_t)c * plane * sizeof(float));
	for (int ch = 0; ch < c; ch++)
		for (int kh = 0; kh < 3; kh++)
			for (int kw = 0; kw < 3; kw++) {
				const float *src = cols + ((size_t)(ch * 3 + kh) * 3 + kw) * plane;
				int x0 = kw == 0 ? 1 : 0, x1 = kw == 2 ? w - 1 : w;

				for (int b = 0; b < n; b++) {
					float *dst = din + ((size_t)ch * n + b) * h * w;

					for (int y = 0; y < h; y++) {
						const float *s = src + ((size_t)b * h + y) * w;
						int sy = y + kh - 1;
						float *d;

						if (sy < 0 || sy >= h)
							continue;
						d = dst + (size_t)sy * w + kw - 1;
						for (int x = x0; x < x1; x++)
							d[x] += s[x];
					}
				}
			}
}

/* max(x, 0) that the compiler inlines and vectorises (fmaxf is a libm call
 * unless NaN semantics are relaxed); NaN gives 0, as fmaxf does. */
static inline float relu_of(float x)
{
	return x > 0.0f ? x : 0.0f;
}

/* Sum of a row in eight interleaved partial sums: vectorises, and the
 * order is fixed by the code, not the compiler. */
static float row_sum(const float *x, size_t n)
{
	float s[8] = { 0, 0, 0, 0, 0, 0, 0, 0 };
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		for (int k = 0; k < 8; k++)
			s[k] += x[i + k];
	for (; i < n; i++)
		s[0] += x[i];
	return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

static void bias_relu_rows(float *out, const float *bias, int rows, size_t len, bool relu)
{
	/* out is [rows][len]: conv output, one row per channel. */
	for (int r = 0; r < rows; r++) {
		float *o = out + (size_t)r * len, b = bias[r];

		if (relu)
			for (size_t i = 0; i < len; i++)
				o[i] = relu_of(o[i] + b);
		else
			for (size_t i = 0; i < len; i++)
				o[i] += b;
	}
}

static void bias_relu_cols(float *out, const float *bias, int n, int width, bool relu)
{
	/* out is [n][width]: linear output, the bias along each row. */
	for (int i = 0; i < n; i++) {
		float *o = out + (size_t)i * width;

		if (relu)
			for (int j = 0; j < width; j++)
				o[j] = relu_of(o[j] + bias[j]);
		else
			for (int j = 0; j < width; j++)
				o[j] += bias[j];
	}
}

static void maxpool2_forward(const struct layer *l, const float *in, int n)
{
	int oh = l->out_h, ow = l->out_w, ih = l->in_h, iw = l->in_w;

	for (size_t p = 0; p < (size_t)l->in_c * n; p++) {
		const float *src = in + p * ih * iw;
		float *dst = l->out + p * oh * ow;
		int32_t *arg = l->argmax + p * oh * ow;

		for (int y = 0; y < oh; y++)
			for (int x = 0; x < ow; x++) {
				int i0 = (2 * y) * iw + 2 * x, best = i0;
				int cand[3] = { i0 + 1, i0 + iw, i0 + iw + 1 };

				for (int k = 0; k < 3; k++)
					if (src[cand[k]] > src[best])
						best = cand[k];
				dst[y * ow + x] = src[best];
				arg[y * ow + x] = (int32_t)(p * ih * iw + (size_t)best);
			}
	}
}

static void forward(struct model *m, const float *x, int n)
{
	const float *in = x;

	if (m->input_cnhw) {
		swap_nc(x, m->input_cnhw, n, m->cfg.in_c, m->cfg.in_h * m->cfg.in_w);
		in = m->input_cnhw;
	}
	for (int i = 0; i < m->lay.nlayers; i++) {
		struct layer *l = &m->lay.layers[i];
		const float *w = m->params + l->w_off, *b = m->params + l->b_off;
		int fin = (int)in_size(l), fout = (int)out_size(l);
		int plane = n * l->out_h * l->out_w;

		switch (l->kind) {
		case LAYER_LINEAR:
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, fout, fin,
				    1.0f, in, fin, w, fin, 0.0f, l->out, fout);
			bias_relu_cols(l->out, b, n, fout, l->relu);
			break;
		case LAYER_CONV3X3:
			im2col3x3(in, l->cols, l->in_c, n, l->in_h, l->in_w);
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, l->out_c, plane,
				    l->in_c * 9, 1.0f, w, l->in_c * 9, l->cols, plane,
				    0.0f, l->out, plane);
			bias_relu_rows(l->out, b, l->out_c, (size_t)plane, l->relu);
			break;
		case LAYER_MAXPOOL2:
			maxpool2_forward(l, in, n);
			break;
		case LAYER_FLATTEN:
			swap_cn(in, l->out, n, l->in_c, l->in_h * l->in_w);
			break;
		}
		in = l->out;
	}
}

/* Softmax cross-entropy over the logits; dlogits (if not NULL) receives
 * softmax - onehot, the gradient of the summed loss. */
static void softmax_xent(const float *logits, const uint8_t *y, int n, int k,
			 float *dlogits, struct batch_result *r)
{
	for (int i = 0; i < n; i++) {
		const float *z = logits + (size_t)i * k;
		float zmax = z[0], sum = 0.0f, lse;
		int arg = 0;

		for (int j = 1; j < k; j++)
			if (z[j] > zmax) {
				zmax = z[j];
				arg = j;
			}
		for (int j = 0; j < k; j++)
			sum += expf(z[j] - zmax);
		lse = zmax + logf(sum);
		r->loss_sum += (double)(lse - z[y[i]]);
		r->correct += arg == y[i];
		if (dlogits) {
			float *d = dlogits + (size_t)i * k;

			for (int j = 0; j < k; j++)
				d[j] = expf(z[j] - lse);
			d[y[i]] -= 1.0f;
		}
	}
	r->count += n;
}

static void backward(struct model *m, const float *x, int n)
{
	int cur = 0;	/* m->dbuf[cur] holds the gradient of the current layer's output */

	for (int i = m->lay.nlayers - 1; i >= 0; i--) {
		struct layer *l = &m->lay.layers[i];
		const float *in = i ? m->lay.layers[i - 1].out : (m->input_cnhw ? m->input_cnhw : x);
		const float *w = m->params + l->w_off;
		float *dw = m->grads + l->w_off, *db = m->grads + l->b_off;
		float *dout = m->dbuf[cur], *din = m->dbuf[cur ^ 1];
		int fin = (int)in_size(l), fout = (int)out_size(l);
		int plane = n * l->out_h * l->out_w;
		size_t total = (size_t)n * fout;

		if (l->relu)
			for (size_t j = 0; j < total; j++)
				dout[j] = l->out[j] > 0.0f ? dout[j] : 0.0f;
		switch (l->kind) {
		case LAYER_LINEAR:
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, fout, fin, n,
				    1.0f, dout, fout, in, fin, 0.0f, dw, fin);
			memset(db, 0, (size_t)fout * sizeof(float));
			for (int b = 0; b < n; b++)
				for (int j = 0; j < fout; j++)
					db[j] += dout[(size_t)b * fout + j];
			if (i > 0)
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, fin, fout,
					    1.0f, dout, fout, w, fin, 0.0f, din, fin);
			break;
		case LAYER_CONV3X3:
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, l->out_c,
				    l->in_c * 9, plane, 1.0f, dout, plane, l->cols, plane,
				    0.0f, dw, l->in_c * 9);
			for (int c = 0; c < l->out_c; c++)
				db[c] = row_sum(dout + (size_t)c * plane, (size_t)plane);
			if (i > 0) {
				cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, l->in_c * 9,
					    plane, l->out_c, 1.0f, w, l->in_c * 9, dout, plane,
					    0.0f, m->dcols, plane);
				col2im3x3(m->dcols, din, l->in_c, n, l->in_h, l->in_w);
			}
			break;
		case LAYER_MAXPOOL2:
			memset(din, 0, (size_t)n * fin * sizeof(float));
			for (size_t j = 0; j < total; j++)
				din[l->argmax[j]] += dout[j];
			break;
		case LAYER_FLATTEN:
			swap_nc(dout, din, n, l->in_c, l->in_h * l->in_w);
			break;
		}
		cur ^= 1;
	}
}

void model_train_batch(struct model *m, const float *x, const uint8_t *y, int n,
		       struct batch_result *r)
{
	const struct layer *last = &m->lay.layers[m->lay.nlayers - 1];

	memset(r, 0, sizeof(*r));
	if (n <= 0) {
		memset(m->grads, 0, m->lay.nparams * sizeof(float));
		return;
	}
	forward(m, x, n);
	softmax_xent(last->out, y, n, m->cfg.classes, m->dbuf[0], r);
	backward(m, x, n);
}

void model_eval_batch(struct model *m, const float *x, const uint8_t *y, int n,
		      struct batch_result *r)
{
	const struct layer *last = &m->lay.layers[m->lay.nlayers - 1];

	if (n <= 0)
		return;
	forward(m, x, n);
	softmax_xent(last->out, y, n, m->cfg.classes, NULL, r);
}

int model_gemm_shapes(const struct model_layout *lay, int n, struct gemm_shape *out, int max)
{
	int count = 0;

#define GEMM(ta, tb, M, N, K) do { \
		if (count < max) \
			out[count] = (struct gemm_shape){ ta, tb, M, N, K }; \
		count++; \
	} while (0)
	for (int i = 0; i < lay->nlayers; i++) {
		const struct layer *l = &lay->layers[i];
		int fin = (int)in_size(l), fout = (int)out_size(l);
		int plane = n * l->out_h * l->out_w;

		if (l->kind == LAYER_LINEAR) {
			GEMM(false, true, n, fout, fin);
			GEMM(true, false, fout, fin, n);
			if (i > 0)
				GEMM(false, false, n, fin, fout);
		} else if (l->kind == LAYER_CONV3X3) {
			GEMM(false, false, l->out_c, plane, l->in_c * 9);
			GEMM(false, true, l->out_c, l->in_c * 9, plane);
			if (i > 0)
				GEMM(true, false, l->in_c * 9, plane, l->out_c);
		}
	}
#undef GEMM
	return count;
}

double model_train_flops(const struct model_layout *lay)
{
	struct gemm_shape s[3 * MODEL_MAX_LAYERS];
	int count = model_gemm_shapes(lay, 1, s, 3 * MODEL_MAX_LAYERS);
	double flops = 0;

	for (int i = 0; i < count; i++)
		flops += 2.0 * s[i].m * s[i].n * s[i].k;
	return flops;
}
