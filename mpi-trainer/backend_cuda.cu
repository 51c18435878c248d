/*
 * backend_cuda.cu - the GPU compute backend (issue 8): parameters,
 * gradients, optimizer state and activations on the device, cuBLAS for
 * every matrix product, small CUDA kernels for the rest, and NCCL for the
 * gradient all-reduce.  The layers are model.c's, step for step, so the
 * two backends train the same networks; their digests differ (other
 * summation orders inside the GEMMs), but each is deterministic: no kernel
 * here adds with atomics, every reduction has a fixed shape, and NCCL is
 * pinned to its ring algorithm in deterministic mode (gpu_host.c).
 *
 * Built only by `configure --with-cuda` (quorate-train-gpu).
 */
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <nccl.h>

extern "C" {
#include "config.h"
#include "backend.h"
#include "backend_cuda.h"
#include "rng.h"
}

#define THREADS 256

static unsigned blocks_for(size_t n)
{
	size_t b = (n + THREADS - 1) / THREADS;

	return (unsigned)(b < 65535 * 16 ? (b ? b : 1) : 65535 * 16);
}

/* ---- kernels ---- */

__global__ void k_bias_relu_cols(float *out, const float *bias, int n, int width, bool relu)
{
	size_t total = (size_t)n * width;

	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
	     i += (size_t)gridDim.x * blockDim.x) {
		float v = out[i] + bias[i % width];

		out[i] = relu ? (v > 0.0f ? v : 0.0f) : v;
	}
}

__global__ void k_bias_relu_rows(float *out, const float *bias, int rows, size_t len, bool relu)
{
	size_t total = (size_t)rows * len;

	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
	     i += (size_t)gridDim.x * blockDim.x) {
		float v = out[i] + bias[i / len];

		out[i] = relu ? (v > 0.0f ? v : 0.0f) : v;
	}
}

__global__ void k_relu_mask(float *dout, const float *out, size_t total)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
	     i += (size_t)gridDim.x * blockDim.x)
		dout[i] = out[i] > 0.0f ? dout[i] : 0.0f;
}

/* db[j] = sum over rows of dout[row][j], rows in order: one thread a column. */
__global__ void k_bias_grad_cols(float *db, const float *dout, int n, int width)
{
	int j = blockIdx.x * blockDim.x + threadIdx.x;

	if (j < width) {
		float s = 0.0f;

		for (int i = 0; i < n; i++)
			s += dout[(size_t)i * width + j];
		db[j] = s;
	}
}

/* db[r] = sum of row r: one block a row, a fixed tree. */
__global__ void k_row_sum(float *db, const float *dout, size_t len)
{
	__shared__ float part[THREADS];
	const float *row = dout + (size_t)blockIdx.x * len;
	float s = 0.0f;

	for (size_t i = threadIdx.x; i < len; i += THREADS)
		s += row[i];
	part[threadIdx.x] = s;
	__syncthreads();
	for (int w = THREADS / 2; w > 0; w /= 2) {
		if ((int)threadIdx.x < w)
			part[threadIdx.x] += part[threadIdx.x + w];
		__syncthreads();
	}
	if (threadIdx.x == 0)
		db[blockIdx.x] = part[0];
}

/* cols[(c*3+kh)*3+kw][b][y][x] = in[c][b][y+kh-1][x+kw-1], zero outside. */
__global__ void k_im2col(const float *in, float *cols, int c, int n, int h, int w)
{
	size_t plane = (size_t)n * h * w, total = (size_t)c * 9 * plane;

	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
	     i += (size_t)gridDim.x * blockDim.x) {
		size_t row = i / plane, p = i % plane;
		int ch = (int)(row / 9), kh = (int)(row % 9) / 3, kw = (int)(row % 3);
		int b = (int)(p / ((size_t)h * w)), y = (int)(p / w % h), x = (int)(p % w);
		int sy = y + kh - 1, sx = x + kw - 1;

		cols[i] = sy >= 0 && sy < h && sx >= 0 && sx < w ?
			  in[(((size_t)ch * n + b) * h + sy) * w + sx] : 0.0f;
	}
}

/* The adjoint: each input gathers the columns that read it, in a fixed order. */
__global__ void k_col2im(const float *cols, float *din, int c, int n, int h, int w)
{
	size_t plane = (size_t)n * h * w, total = (size_t)c * plane;

	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
	     i += (size_t)gridDim.x * blockDim.x) {
		int ch = (int)(i / plane);
		size_t p = i % plane;
		int b = (int)(p / ((size_t)h * w)), sy = (int)(p / w % h), sx = (int)(p % w);
		float s = 0.0f;

		for (int kh = 0; kh < 3; kh++)
			for (int kw = 0; kw < 3; kw++) {
				int y = sy - kh + 1, x = sx - kw + 1;

				if (y >= 0 && y < h && x >= 0 && x < w)
					s += cols[((size_t)(ch * 3 + kh) * 3 + kw) * plane +
						  ((size_t)b * h + y) * w + x];
			}
		din[i] = s;
	}
}

__global__ void k_maxpool_fwd(const float *in, float *out, int *argmax, size_t planes,
			      int ih, int iw, int oh, int ow)
{
	size_t total = planes * oh * ow;

	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
	     i += (size_t)gridDim.x * blockDim.x) {
		size_t p = i / ((size_t)oh * ow);
		int y = (int)(i / ow % oh), x = (int)(i % ow);
		const float *src = in + p * ih * iw;
		int i0 = (2 * y) * iw + 2 * x, best = i0;
		int cand[3] = { i0 + 1, i0 + iw, i0 + iw + 1 };

		for (int k = 0; k < 3; k++)
			if (src[cand[k]] > src[best])
				best = cand[k];
		out[i] = src[best];
		argmax[i] = (int)(p * ih * iw + best);
	}
}

/* Windows do not overlap: every input takes at most one output's gradient. */
__global__ void k_maxpool_bwd(float *din, const float *dout, const int *argmax, size_t total)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
	     i += (size_t)gridDim.x * blockDim.x)
		din[argmax[i]] = dout[i];
}

/* [N][C][HW] -> [C][N][HW] (cn = false) or back (cn = true). */
__global__ void k_swap(const float *in, float *out, int n, int c, int hw, bool cn)
{
	size_t total = (size_t)n * c * hw;

	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
	     i += (size_t)gridDim.x * blockDim.x) {
		int b = (int)(i / ((size_t)c * hw)), ch = (int)(i / hw % c), k = (int)(i % hw);
		size_t nc = ((size_t)b * c + ch) * hw + k, cnpos = ((size_t)ch * n + b) * hw + k;

		if (cn)
			out[nc] = in[cnpos];
		else
			out[cnpos] = in[nc];
	}
}

__global__ void k_softmax_xent(const float *logits, const unsigned char *y, int n, int k,
			       float *dlogits, float *loss, int *correct)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;

	if (i < n) {
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
		loss[i] = lse - z[y[i]];
		correct[i] = arg == y[i];
		if (dlogits) {
			for (int j = 0; j < k; j++)
				dlogits[(size_t)i * k + j] = expf(z[j] - lse);
			dlogits[(size_t)i * k + y[i]] -= 1.0f;
		}
	}
}

/* Partial sums of squares in double: block b takes a fixed slice. */
__global__ void k_sumsq(const float *g, size_t n, double *partial)
{
	__shared__ double part[THREADS];
	double s = 0;

	for (size_t i = blockIdx.x * (size_t)THREADS + threadIdx.x; i < n;
	     i += (size_t)gridDim.x * THREADS)
		s += (double)g[i] * g[i];
	part[threadIdx.x] = s;
	__syncthreads();
	for (int w = THREADS / 2; w > 0; w /= 2) {
		if ((int)threadIdx.x < w)
			part[threadIdx.x] += part[threadIdx.x + w];
		__syncthreads();
	}
	if (threadIdx.x == 0)
		partial[blockIdx.x] = part[0];
}

__global__ void k_scale(float *g, size_t n, float s)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
	     i += (size_t)gridDim.x * blockDim.x)
		g[i] *= s;
}

__global__ void k_adam(float *p, const float *g, float *m, float *v, size_t n, float scale,
		       float b1, float b2, float alpha, float eps_hat, float decay)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
	     i += (size_t)gridDim.x * blockDim.x) {
		float grad = g[i] * scale;

		m[i] = b1 * m[i] + (1.0f - b1) * grad;
		v[i] = b2 * v[i] + (1.0f - b2) * grad * grad;
		p[i] = decay * p[i] - alpha * m[i] / (sqrtf(v[i]) + eps_hat);
	}
}

__global__ void k_sgd(float *p, const float *g, float *m, size_t n, float scale, float lr,
		      float mu, float wd)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
	     i += (size_t)gridDim.x * blockDim.x) {
		float grad = g[i] * scale + wd * p[i];

		m[i] = mu * m[i] + grad;
		p[i] -= lr * m[i];
	}
}

/* ---- the backend ---- */

#define SUMSQ_BLOCKS 512

struct cuda_backend {
	struct backend base;
	struct model_config cfg;
	struct model_layout lay;
	int max_batch;
	size_t act_max;
	cudaStream_t stream;
	cublasHandle_t blas;
	ncclComm_t nccl;
	bool have_nccl;
	float *params, *grads, *m, *v;		/* device */
	float *act[MODEL_MAX_LAYERS], *cols[MODEL_MAX_LAYERS];
	int *argmax[MODEL_MAX_LAYERS];
	float *dbuf[2], *dcols, *input_cnhw;
	float *x;				/* device batch */
	unsigned char *y;
	float *x_host;				/* pinned staging */
	unsigned char *y_host;
	float *loss;				/* per sample, device and pinned host */
	int *correct;
	float *loss_host;
	int *correct_host;
	double *partial, *partial_host;
	float lut[256];
};

static struct cuda_backend *cu(struct backend *b)
{
	return (struct cuda_backend *)b;
}

static bool cuda_ok(cudaError_t e, const char *what, char *err, size_t errlen)
{
	if (e == cudaSuccess)
		return true;
	if (err)
		snprintf(err, errlen, "%s: %s", what, cudaGetErrorString(e));
	else
		fprintf(stderr, "quorate-train: error: %s: %s\n", what, cudaGetErrorString(e));
	return false;
}

/* Row-major C = op(A) op(B) (+ beta C) through column-major cuBLAS: the
 * transposed problem, operands swapped. */
static void gemm_rm(struct cuda_backend *c, bool ta, bool tb, int m, int n, int k,
		    const float *a, int lda, const float *b, int ldb, float beta,
		    float *out, int ldc)
{
	const float one = 1.0f;

	cublasSgemm(c->blas, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
		    n, m, k, &one, b, ldb, a, lda, &beta, out, ldc);
}

static size_t out_size(const struct layer *l)
{
	return (size_t)l->out_c * l->out_h * l->out_w;
}

static size_t in_size(const struct layer *l)
{
	return (size_t)l->in_c * l->in_h * l->in_w;
}

static void forward(struct cuda_backend *c, int n)
{
	const float *in = c->x;

	if (c->input_cnhw) {
		k_swap<<<blocks_for((size_t)n * in_size(&c->lay.layers[0])), THREADS, 0, c->stream>>>(
			c->x, c->input_cnhw, n, c->cfg.in_c, c->cfg.in_h * c->cfg.in_w, false);
		in = c->input_cnhw;
	}
	for (int i = 0; i < c->lay.nlayers; i++) {
		const struct layer *l = &c->lay.layers[i];
		const float *w = c->params + l->w_off, *bias = c->params + l->b_off;
		int fin = (int)in_size(l), fout = (int)out_size(l);
		int plane = n * l->out_h * l->out_w;

		switch (l->kind) {
		case LAYER_LINEAR:
			gemm_rm(c, false, true, n, fout, fin, in, fin, w, fin, 0.0f, c->act[i], fout);
			k_bias_relu_cols<<<blocks_for((size_t)n * fout), THREADS, 0, c->stream>>>(
				c->act[i], bias, n, fout, l->relu);
			break;
		case LAYER_CONV3X3:
			k_im2col<<<blocks_for((size_t)l->in_c * 9 * plane), THREADS, 0, c->stream>>>(
				in, c->cols[i], l->in_c, n, l->in_h, l->in_w);
			gemm_rm(c, false, false, l->out_c, plane, l->in_c * 9, w, l->in_c * 9,
				c->cols[i], plane, 0.0f, c->act[i], plane);
			k_bias_relu_rows<<<blocks_for((size_t)l->out_c * plane), THREADS, 0, c->stream>>>(
				c->act[i], bias, l->out_c, (size_t)plane, l->relu);
			break;
		case LAYER_MAXPOOL2:
			k_maxpool_fwd<<<blocks_for((size_t)l->in_c * n * l->out_h * l->out_w), THREADS, 0,
				c->stream>>>(in, c->act[i], c->argmax[i], (size_t)l->in_c * n,
					     l->in_h, l->in_w, l->out_h, l->out_w);
			break;
		case LAYER_FLATTEN:
			k_swap<<<blocks_for((size_t)n * fout), THREADS, 0, c->stream>>>(
				in, c->act[i], n, l->in_c, l->in_h * l->in_w, true);
			break;
		}
		in = c->act[i];
	}
}

static void backward(struct cuda_backend *c, int n)
{
	int cur = 0;

	for (int i = c->lay.nlayers - 1; i >= 0; i--) {
		const struct layer *l = &c->lay.layers[i];
		const float *in = i ? c->act[i - 1] : (c->input_cnhw ? c->input_cnhw : c->x);
		const float *w = c->params + l->w_off;
		float *dw = c->grads + l->w_off, *db = c->grads + l->b_off;
		float *dout = c->dbuf[cur], *din = c->dbuf[cur ^ 1];
		int fin = (int)in_size(l), fout = (int)out_size(l);
		int plane = n * l->out_h * l->out_w;
		size_t total = (size_t)n * fout;

		if (l->relu)
			k_relu_mask<<<blocks_for(total), THREADS, 0, c->stream>>>(dout, c->act[i], total);
		switch (l->kind) {
		case LAYER_LINEAR:
			gemm_rm(c, true, false, fout, fin, n, dout, fout, in, fin, 0.0f, dw, fin);
			k_bias_grad_cols<<<(fout + THREADS - 1) / THREADS, THREADS, 0, c->stream>>>(
				db, dout, n, fout);
			if (i > 0)
				gemm_rm(c, false, false, n, fin, fout, dout, fout, w, fin, 0.0f, din, fin);
			break;
		case LAYER_CONV3X3:
			gemm_rm(c, false, true, l->out_c, l->in_c * 9, plane, dout, plane,
				c->cols[i], plane, 0.0f, dw, l->in_c * 9);
			k_row_sum<<<l->out_c, THREADS, 0, c->stream>>>(db, dout, (size_t)plane);
			if (i > 0) {
				gemm_rm(c, true, false, l->in_c * 9, plane, l->out_c, w, l->in_c * 9,
					dout, plane, 0.0f, c->dcols, plane);
				k_col2im<<<blocks_for((size_t)l->in_c * n * l->in_h * l->in_w), THREADS, 0,
					c->stream>>>(c->dcols, din, l->in_c, n, l->in_h, l->in_w);
			}
			break;
		case LAYER_MAXPOOL2:
			cudaMemsetAsync(din, 0, (size_t)n * fin * sizeof(float), c->stream);
			k_maxpool_bwd<<<blocks_for(total), THREADS, 0, c->stream>>>(din, dout,
										     c->argmax[i], total);
			break;
		case LAYER_FLATTEN:
			k_swap<<<blocks_for(total), THREADS, 0, c->stream>>>(dout, din, n, l->in_c,
									     l->in_h * l->in_w, false);
			break;
		}
		cur ^= 1;
	}
}

/* Samples to the device, normalised (and augmented) on the host. */
static int upload(struct cuda_backend *c, const struct dataset *ds, const uint32_t *idx,
		  uint32_t first, int n, const struct augment *aug)
{
	size_t pixels = (size_t)ds->rows * ds->cols;

	for (int i = 0; i < n; i++) {
		uint32_t s = idx ? idx[i] : first + (uint32_t)i;

		augment_sample(ds, s, c->lut, aug, c->x_host + (size_t)i * pixels);
		c->y_host[i] = ds->labels[s];
	}
	return cuda_ok(cudaMemcpyAsync(c->x, c->x_host, (size_t)n * pixels * sizeof(float),
				       cudaMemcpyHostToDevice, c->stream), "copy batch", NULL, 0) &&
	       cuda_ok(cudaMemcpyAsync(c->y, c->y_host, (size_t)n, cudaMemcpyHostToDevice,
				       c->stream), "copy labels", NULL, 0) ? 0 : -1;
}

/* Loss and correct predictions of the last forward pass, summed on the host
 * in sample order. */
static int loss_of(struct cuda_backend *c, int n, bool with_grad, struct batch_result *r)
{
	k_softmax_xent<<<(n + THREADS - 1) / THREADS, THREADS, 0, c->stream>>>(
		c->act[c->lay.nlayers - 1], c->y, n, c->cfg.classes,
		with_grad ? c->dbuf[0] : NULL, c->loss, c->correct);
	if (!cuda_ok(cudaMemcpyAsync(c->loss_host, c->loss, (size_t)n * sizeof(float),
				     cudaMemcpyDeviceToHost, c->stream), "copy loss", NULL, 0) ||
	    !cuda_ok(cudaMemcpyAsync(c->correct_host, c->correct, (size_t)n * sizeof(int),
				     cudaMemcpyDeviceToHost, c->stream), "copy correct", NULL, 0) ||
	    !cuda_ok(cudaStreamSynchronize(c->stream), "training step", NULL, 0))
		return -1;
	for (int i = 0; i < n; i++) {
		r->loss_sum += c->loss_host[i];
		r->correct += c->correct_host[i];
	}
	r->count += n;
	return 0;
}

static int cuda_train_batch(struct backend *b, const struct dataset *ds, const uint32_t *idx,
			    int n, const struct augment *aug, struct batch_result *r)
{
	struct cuda_backend *c = cu(b);

	memset(r, 0, sizeof(*r));
	if (n > b->max_batch)
		return -1;
	if (n <= 0)
		return cuda_ok(cudaMemsetAsync(c->grads, 0, b->layout.nparams * sizeof(float),
					       c->stream), "zero gradients", NULL, 0) ? 0 : -1;
	if (upload(c, ds, idx, 0, n, aug))
		return -1;
	forward(c, n);
	k_softmax_xent<<<(n + THREADS - 1) / THREADS, THREADS, 0, c->stream>>>(
		c->act[c->lay.nlayers - 1], c->y, n, c->cfg.classes, c->dbuf[0], c->loss,
		c->correct);
	backward(c, n);
	/* The loss and predictions were computed before the backward pass; the
	 * copies wait for it on the same stream. */
	if (!cuda_ok(cudaMemcpyAsync(c->loss_host, c->loss, (size_t)n * sizeof(float),
				     cudaMemcpyDeviceToHost, c->stream), "copy loss", NULL, 0) ||
	    !cuda_ok(cudaMemcpyAsync(c->correct_host, c->correct, (size_t)n * sizeof(int),
				     cudaMemcpyDeviceToHost, c->stream), "copy correct", NULL, 0) ||
	    !cuda_ok(cudaStreamSynchronize(c->stream), "training step", NULL, 0))
		return -1;
	for (int i = 0; i < n; i++) {
		r->loss_sum += c->loss_host[i];
		r->correct += c->correct_host[i];
	}
	r->count = n;
	return 0;
}

static int cuda_eval_range(struct backend *b, const struct dataset *ds, uint32_t first,
			   uint32_t n, struct batch_result *r)
{
	struct cuda_backend *c = cu(b);

	for (uint32_t done = 0; done < n;) {
		int chunk = n - done < (uint32_t)b->max_batch ? (int)(n - done) : b->max_batch;

		if (upload(c, ds, NULL, first + done, chunk, NULL))
			return -1;
		forward(c, chunk);
		if (loss_of(c, chunk, false, r))
			return -1;
		done += (uint32_t)chunk;
	}
	return 0;
}

static float *cuda_grad_buffer(struct backend *b)
{
	(void)b;
	return NULL;	/* device memory */
}

static int cuda_get_grads(struct backend *b, size_t offset, size_t n, float *host)
{
	struct cuda_backend *c = cu(b);

	return cuda_ok(cudaMemcpyAsync(host, c->grads + offset, n * sizeof(float),
				       cudaMemcpyDeviceToHost, c->stream), "copy gradients", NULL, 0) &&
	       cuda_ok(cudaStreamSynchronize(c->stream), "copy gradients", NULL, 0) ? 0 : -1;
}

static int cuda_set_grads(struct backend *b, size_t offset, size_t n, const float *host)
{
	struct cuda_backend *c = cu(b);

	return cuda_ok(cudaMemcpyAsync(c->grads + offset, host, n * sizeof(float),
				       cudaMemcpyHostToDevice, c->stream), "copy gradients", NULL, 0) &&
	       cuda_ok(cudaStreamSynchronize(c->stream), "copy gradients", NULL, 0) ? 0 : -1;
}

static int cuda_zero_grads(struct backend *b)
{
	struct cuda_backend *c = cu(b);

	return cuda_ok(cudaMemsetAsync(c->grads, 0, b->layout.nparams * sizeof(float), c->stream),
		       "zero gradients", NULL, 0) ? 0 : -1;
}

static int cuda_scale_grads(struct backend *b, float s)
{
	struct cuda_backend *c = cu(b);

	k_scale<<<blocks_for(b->layout.nparams), THREADS, 0, c->stream>>>(c->grads,
									    b->layout.nparams, s);
	return cuda_ok(cudaGetLastError(), "scale gradients", NULL, 0) ? 0 : -1;
}

static int cuda_grad_sumsq(struct backend *b, double *sumsq)
{
	struct cuda_backend *c = cu(b);

	k_sumsq<<<SUMSQ_BLOCKS, THREADS, 0, c->stream>>>(c->grads, b->layout.nparams, c->partial);
	if (!cuda_ok(cudaMemcpyAsync(c->partial_host, c->partial, SUMSQ_BLOCKS * sizeof(double),
				     cudaMemcpyDeviceToHost, c->stream), "gradient norm", NULL, 0) ||
	    !cuda_ok(cudaStreamSynchronize(c->stream), "gradient norm", NULL, 0))
		return -1;
	*sumsq = 0;
	for (int i = 0; i < SUMSQ_BLOCKS; i++)
		*sumsq += c->partial_host[i];
	return 0;
}

static int cuda_allreduce(struct backend *b, size_t n)
{
	struct cuda_backend *c = cu(b);

	if (!c->have_nccl)
		return 0;	/* one rank */
	if (ncclAllReduce(c->grads, c->grads, n, ncclFloat, ncclSum, c->nccl, c->stream) !=
	    ncclSuccess)
		return -1;
	return cuda_ok(cudaStreamSynchronize(c->stream), "NCCL all-reduce", NULL, 0) ? 0 : -1;
}

static int cuda_apply_update(struct backend *b, float scale, float lr, long step)
{
	struct cuda_backend *c = cu(b);
	const struct optim_config *o = &b->optim;
	size_t n = b->layout.nparams;

	if (o->kind == OPTIM_ADAM) {
		/* The same folding of the bias corrections as optim.c. */
		double c1 = 1.0 - pow(o->beta1, (double)(step + 1));
		double c2 = 1.0 - pow(o->beta2, (double)(step + 1));

		k_adam<<<blocks_for(n), THREADS, 0, c->stream>>>(c->params, c->grads, c->m, c->v, n,
			scale, o->beta1, o->beta2, (float)(lr * sqrt(c2) / c1),
			(float)(o->eps * sqrt(c2)), 1.0f - lr * o->weight_decay);
	} else {
		k_sgd<<<blocks_for(n), THREADS, 0, c->stream>>>(c->params, c->grads, c->m, n, scale,
								  lr, o->momentum, o->weight_decay);
	}
	return cuda_ok(cudaGetLastError(), "optimizer step", NULL, 0) ? 0 : -1;
}

static int copy_out(struct cuda_backend *c, float *host, const float *dev, size_t n)
{
	return cuda_ok(cudaMemcpyAsync(host, dev, n * sizeof(float), cudaMemcpyDeviceToHost,
				       c->stream), "copy to host", NULL, 0) &&
	       cuda_ok(cudaStreamSynchronize(c->stream), "copy to host", NULL, 0) ? 0 : -1;
}

static int copy_in(struct cuda_backend *c, float *dev, const float *host, size_t n)
{
	return cuda_ok(cudaMemcpyAsync(dev, host, n * sizeof(float), cudaMemcpyHostToDevice,
				       c->stream), "copy to device", NULL, 0) &&
	       cuda_ok(cudaStreamSynchronize(c->stream), "copy to device", NULL, 0) ? 0 : -1;
}

static int cuda_read_params(struct backend *b, float *host)
{
	return copy_out(cu(b), host, cu(b)->params, b->layout.nparams);
}

static int cuda_write_params(struct backend *b, const float *host)
{
	return copy_in(cu(b), cu(b)->params, host, b->layout.nparams);
}

static int cuda_read_optim(struct backend *b, float *m, float *v)
{
	struct cuda_backend *c = cu(b);

	if (copy_out(c, m, c->m, b->layout.nparams))
		return -1;
	return c->v && v ? copy_out(c, v, c->v, b->layout.nparams) : 0;
}

static int cuda_write_optim(struct backend *b, const float *m, const float *v)
{
	struct cuda_backend *c = cu(b);

	if (copy_in(c, c->m, m, b->layout.nparams))
		return -1;
	return c->v && v ? copy_in(c, c->v, v, b->layout.nparams) : 0;
}

static void cuda_destroy(struct backend *b)
{
	struct cuda_backend *c = cu(b);

	if (c->have_nccl)
		ncclCommDestroy(c->nccl);
	for (int i = 0; i < MODEL_MAX_LAYERS; i++) {
		cudaFree(c->act[i]);
		cudaFree(c->cols[i]);
		cudaFree(c->argmax[i]);
	}
	cudaFree(c->params);
	cudaFree(c->grads);
	cudaFree(c->m);
	cudaFree(c->v);
	cudaFree(c->dbuf[0]);
	cudaFree(c->dbuf[1]);
	cudaFree(c->dcols);
	cudaFree(c->input_cnhw);
	cudaFree(c->x);
	cudaFree(c->y);
	cudaFree(c->loss);
	cudaFree(c->correct);
	cudaFree(c->partial);
	cudaFreeHost(c->x_host);
	cudaFreeHost(c->y_host);
	cudaFreeHost(c->loss_host);
	cudaFreeHost(c->correct_host);
	cudaFreeHost(c->partial_host);
	if (c->blas)
		cublasDestroy(c->blas);
	if (c->stream)
		cudaStreamDestroy(c->stream);
	free(c);
}

static const struct backend_ops cuda_ops = {
	cuda_train_batch, cuda_eval_range, cuda_grad_buffer, cuda_get_grads, cuda_set_grads,
	cuda_zero_grads, cuda_scale_grads, cuda_allreduce, cuda_grad_sumsq, cuda_apply_update,
	cuda_read_params, cuda_write_params, cuda_read_optim, cuda_write_optim, cuda_destroy,
};

static bool dev_alloc(void **p, size_t bytes, char *err, size_t errlen)
{
	return cuda_ok(cudaMalloc(p, bytes ? bytes : 4), "cudaMalloc", err, errlen);
}

extern "C" struct backend *backend_cuda_create(const struct model_config *cfg,
					       const struct optim_config *oc, int max_batch,
					       struct input_norm norm, uint64_t seed, int device,
					       char *err, size_t errlen)
{
	struct cuda_backend *c = (struct cuda_backend *)calloc(1, sizeof(*c));
	struct model host;
	size_t nb = (size_t)max_batch, n, dcols = 0, act = 0, pixels;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!cuda_ok(cudaSetDevice(device), "cudaSetDevice", err, errlen) ||
	    !cuda_ok(cudaStreamCreate(&c->stream), "cudaStreamCreate", err, errlen))
		goto fail;
	if (cublasCreate(&c->blas) != CUBLAS_STATUS_SUCCESS) {
		snprintf(err, errlen, "cublasCreate failed");
		c->blas = NULL;
		goto fail;
	}
	cublasSetStream(c->blas, c->stream);
	/* IEEE single precision, no TF32 tensor cores: the CPU's arithmetic. */
	cublasSetMathMode(c->blas, CUBLAS_PEDANTIC_MATH);
	/* The initial parameters come from model.c, so both backends start
	 * from the same bits. */
	if (model_create(&host, cfg, 1, err, errlen))
		goto fail;
	model_init_params(&host, seed);
	c->cfg = *cfg;
	c->lay = host.lay;
	c->max_batch = max_batch;
	n = c->lay.nparams;
	pixels = (size_t)cfg->in_c * cfg->in_h * cfg->in_w;
	if (!dev_alloc((void **)&c->params, n * sizeof(float), err, errlen) ||
	    !dev_alloc((void **)&c->grads, (n + MODEL_GRAD_EXTRA) * sizeof(float), err, errlen) ||
	    !dev_alloc((void **)&c->m, n * sizeof(float), err, errlen) ||
	    (oc->kind == OPTIM_ADAM && !dev_alloc((void **)&c->v, n * sizeof(float), err, errlen)) ||
	    !cuda_ok(cudaMemcpy(c->params, host.params, n * sizeof(float), cudaMemcpyHostToDevice),
		     "copy parameters", err, errlen)) {
		model_free(&host);
		goto fail;
	}
	model_free(&host);
	cudaMemset(c->grads, 0, (n + MODEL_GRAD_EXTRA) * sizeof(float));
	cudaMemset(c->m, 0, n * sizeof(float));
	if (c->v)
		cudaMemset(c->v, 0, n * sizeof(float));
	for (int i = 0; i < c->lay.nlayers; i++) {
		struct layer *l = &c->lay.layers[i];

		act = in_size(l) > act ? in_size(l) : act;
		act = out_size(l) > act ? out_size(l) : act;
		l->out = NULL;
		l->cols = NULL;
		l->argmax = NULL;
		if (!dev_alloc((void **)&c->act[i], nb * out_size(l) * sizeof(float), err, errlen))
			goto fail;
		if (l->kind == LAYER_CONV3X3) {
			size_t cs = (size_t)l->in_c * 9 * nb * l->out_h * l->out_w;

			if (!dev_alloc((void **)&c->cols[i], cs * sizeof(float), err, errlen))
				goto fail;
			if (i > 0 && cs > dcols)
				dcols = cs;
		}
		if (l->kind == LAYER_MAXPOOL2 &&
		    !dev_alloc((void **)&c->argmax[i], nb * out_size(l) * sizeof(int), err, errlen))
			goto fail;
	}
	c->act_max = act;
	if (!dev_alloc((void **)&c->dbuf[0], nb * act * sizeof(float), err, errlen) ||
	    !dev_alloc((void **)&c->dbuf[1], nb * act * sizeof(float), err, errlen) ||
	    (dcols && !dev_alloc((void **)&c->dcols, dcols * sizeof(float), err, errlen)) ||
	    (c->lay.layers[0].kind == LAYER_CONV3X3 && cfg->in_c > 1 &&
	     !dev_alloc((void **)&c->input_cnhw, nb * pixels * sizeof(float), err, errlen)) ||
	    !dev_alloc((void **)&c->x, nb * pixels * sizeof(float), err, errlen) ||
	    !dev_alloc((void **)&c->y, nb, err, errlen) ||
	    !dev_alloc((void **)&c->loss, nb * sizeof(float), err, errlen) ||
	    !dev_alloc((void **)&c->correct, nb * sizeof(int), err, errlen) ||
	    !dev_alloc((void **)&c->partial, SUMSQ_BLOCKS * sizeof(double), err, errlen) ||
	    !cuda_ok(cudaMallocHost((void **)&c->x_host, nb * pixels * sizeof(float)), "cudaMallocHost", err, errlen) ||
	    !cuda_ok(cudaMallocHost((void **)&c->y_host, nb), "cudaMallocHost", err, errlen) ||
	    !cuda_ok(cudaMallocHost((void **)&c->loss_host, nb * sizeof(float)), "cudaMallocHost", err, errlen) ||
	    !cuda_ok(cudaMallocHost((void **)&c->correct_host, nb * sizeof(int)), "cudaMallocHost", err, errlen) ||
	    !cuda_ok(cudaMallocHost((void **)&c->partial_host, SUMSQ_BLOCKS * sizeof(double)),
		     "cudaMallocHost", err, errlen))
		goto fail;
	for (int v = 0; v < 256; v++)
		c->lut[v] = ((float)v / 255.0f - norm.mean) / norm.std;
	c->base.ops = &cuda_ops;
	c->base.name = "cuda";
	c->base.layout = c->lay;
	c->base.optim = *oc;
	c->base.grads_on_device = true;
	c->base.max_batch = max_batch;
	return &c->base;
fail:
	cuda_destroy(&c->base);
	return NULL;
}

extern "C" int backend_cuda_devices(void)
{
	int n = 0;

	return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
}

extern "C" int backend_cuda_nccl_id(void *id, size_t len)
{
	ncclUniqueId u;

	if (len < sizeof(u) || ncclGetUniqueId(&u) != ncclSuccess)
		return -1;
	memcpy(id, &u, sizeof(u));
	return 0;
}

extern "C" int backend_cuda_connect(struct backend *b, int rank, int size, const void *id,
				    char *err, size_t errlen)
{
	struct cuda_backend *c = cu(b);
	ncclUniqueId u;
	ncclResult_t r;

	if (size == 1)
		return 0;
	memcpy(&u, id, sizeof(u));
	r = ncclCommInitRank(&c->nccl, size, u, rank);
	if (r != ncclSuccess) {
		snprintf(err, errlen, "ncclCommInitRank: %s", ncclGetErrorString(r));
		return -1;
	}
	c->have_nccl = true;
	return 0;
}

/* Median seconds of REPS NCCL all-reduces of BYTES (after a warm-up),
 * timed with events on the backend's stream. */
extern "C" int backend_cuda_time_allreduce(struct backend *b, size_t bytes, int reps,
					   double *median)
{
	struct cuda_backend *c = cu(b);
	size_t n = bytes / sizeof(float);
	float *buf = NULL;
	cudaEvent_t start, stop;
	double *t = (double *)calloc((size_t)reps, sizeof(double));
	int rv = -1;

	if (!t || cudaMalloc((void **)&buf, bytes) != cudaSuccess)
		goto out;
	cudaMemset(buf, 0, bytes);
	cudaEventCreate(&start);
	cudaEventCreate(&stop);
	for (int i = 0; i <= reps; i++) {
		float ms = 0;

		cudaEventRecord(start, c->stream);
		if (c->have_nccl &&
		    ncclAllReduce(buf, buf, n, ncclFloat, ncclSum, c->nccl, c->stream) != ncclSuccess)
			goto events;
		cudaEventRecord(stop, c->stream);
		cudaEventSynchronize(stop);
		cudaEventElapsedTime(&ms, start, stop);
		if (i > 0)
			t[i - 1] = ms * 1e-3;
	}
	for (int i = 1; i < reps; i++)		/* insertion sort: few values */
		for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
			double x = t[j];

			t[j] = t[j - 1];
			t[j - 1] = x;
		}
	*median = t[reps / 2];
	rv = 0;
events:
	cudaEventDestroy(start);
	cudaEventDestroy(stop);
out:
	cudaFree(buf);
	free(t);
	return rv;
}
