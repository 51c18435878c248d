/*
 * model.h - the two networks quorate-train trains, and their forward and
 * backward passes on the CPU (OpenBLAS sgemm for every matrix product).
 *
 *   mlp:  784-512-256-10, ReLU
 *   cnn:  conv3x3(32)+ReLU, maxpool 2 -> conv3x3(64)+ReLU, maxpool 2
 *         -> fc(128)+ReLU -> fc(10)               (421,642 parameters)
 *
 * All parameters live in one flat float array (and the gradients in a
 * second one of the same layout), so that a checkpoint, the model digest and
 * the gradient all-reduce each see a single buffer.  The loss is softmax
 * cross-entropy summed over the batch: the trainer scales the summed
 * gradient by 1 / (samples in the global batch) after the all-reduce.
 *
 * Activations of convolution and pooling layers are stored channel-major,
 * [C][N][H][W], so that one GEMM covers a whole batch; fully connected layers
 * use [N][F].
 */
#ifndef QUORATE_TRAIN_MODEL_H
#define QUORATE_TRAIN_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum model_kind { MODEL_MLP, MODEL_CNN };

struct model_config {
	enum model_kind kind;
	int in_c, in_h, in_w;
	int classes;
	int hidden[2];		/* mlp: widths of the two hidden layers */
	int conv[2];		/* cnn: channels of the two 3x3 convolutions */
	int fc;			/* cnn: width of the hidden fully connected layer */
};

#define MODEL_MAX_LAYERS 8
#define MODEL_MAX_TENSORS 12
#define MODEL_TENSOR_NAME 24

struct param_tensor {
	char name[MODEL_TENSOR_NAME];	/* "fc1.weight" */
	size_t offset, count;		/* in floats, into the flat array */
	int ndim;
	int dims[4];
};

enum layer_kind { LAYER_LINEAR, LAYER_CONV3X3, LAYER_MAXPOOL2, LAYER_FLATTEN };

struct layer {
	enum layer_kind kind;
	bool relu;			/* ReLU fused onto the output */
	int in_c, in_h, in_w;		/* one sample's input ... */
	int out_c, out_h, out_w;	/* ... and output */
	size_t w_off, b_off;		/* weights and bias, into the flat array */
	float *out;			/* activations of the last forward pass */
	float *cols;			/* conv: im2col of the input */
	int32_t *argmax;		/* maxpool: which input each output took */
};

struct model_layout {
	int nlayers;
	struct layer layers[MODEL_MAX_LAYERS];
	int ntensors;
	struct param_tensor tensors[MODEL_MAX_TENSORS];
	size_t nparams;
};

/* The gradient buffer has this many floats more after the gradients: room
 * for the trainer's per-step counters (8, then 3 per rank for up to 128
 * ranks), so one all-reduce carries both. */
#define MODEL_GRAD_EXTRA (8 + 3 * 128)

struct model {
	struct model_config cfg;
	struct model_layout lay;
	int max_batch;
	float *params;			/* nparams */
	float *grads;			/* nparams + MODEL_GRAD_EXTRA */
	float *input_cnhw;		/* input reordered for a first conv with in_c > 1 */
	float *dbuf[2];			/* gradients flowing backwards, ping-pong */
	float *dcols;			/* conv: gradient of the im2col matrix */
	size_t act_max;			/* floats of the largest activation */
};

struct batch_result {
	double loss_sum;		/* summed cross-entropy */
	long correct;			/* argmax == label */
	long count;
};

/* A matrix product of one training step, for the roofline benchmark. */
struct gemm_shape {
	bool trans_a, trans_b;
	int m, n, k;
};

/* The standard networks for images of h x w with CLASSES labels. */
void model_config_default(struct model_config *cfg, enum model_kind kind,
			  int h, int w, int classes);
int model_kind_parse(const char *s, enum model_kind *kind);
const char *model_kind_name(enum model_kind kind);

/* Layers and parameter tensors of CFG (no memory).  0, or -1 with err. */
int model_layout(const struct model_config *cfg, struct model_layout *lay,
		 char *err, size_t errlen);

/* Buffers for batches of up to MAX_BATCH samples; parameters zeroed. */
int model_create(struct model *m, const struct model_config *cfg, int max_batch,
		 char *err, size_t errlen);
void model_free(struct model *m);

/* He-normal weights from SEED, zero biases. */
void model_init_params(struct model *m, uint64_t seed);

/* Forward, loss and backward over n <= max_batch samples x (n x in_c*in_h*in_w,
 * normalised floats): m->grads receives the gradient of the summed loss. */
void model_train_batch(struct model *m, const float *x, const uint8_t *y, int n,
		       struct batch_result *r);

/* Forward and loss only (adds to r). */
void model_eval_batch(struct model *m, const float *x, const uint8_t *y, int n,
		      struct batch_result *r);

/* Floating-point operations of one training sample (forward + backward). */
double model_train_flops(const struct model_layout *lay);

/* The sgemm calls of a training step over n samples; returns how many. */
int model_gemm_shapes(const struct model_layout *lay, int n, struct gemm_shape *out, int max);

#endif
