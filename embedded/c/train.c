/* Trains the two models of libembedded.a from C; see ../README.md.
 * Exits with status 1 when a model did not learn. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>

float embedded_neuron_predict(const float params[6], const float x[5]);
float embedded_neuron_train_step(float params[6], const float x[5], float target, float lr);
float embedded_mlp_train_step(float params[67], const float x[4][4], const size_t labels[4], float lr);

int main(void) {
    float neuron[6] = {0.1f, -0.2f, 0.3f, 0.0f, 0.05f, 0.0f};
    const float x[5] = {1.0f, 0.5f, -1.0f, 2.0f, 0.0f};
    float first = 0.0f, last = 0.0f;
    for (int step = 0; step < 50; step++) {
        last = embedded_neuron_train_step(neuron, x, 1.0f, 1.0f);
        if (step == 0) first = last;
    }
    float prediction = embedded_neuron_predict(neuron, x);
    printf("neuron: loss %.6f -> %.6f, prediction %.4f (target 1)\n", first, last, prediction);

    /* Small deterministic weights; each class is marked by one large input. */
    float mlp[67];
    for (int i = 0; i < 67; i++) mlp[i] = 0.1f * sinf((float)(i + 1));
    const float batch[4][4] = {{2, 0, 0, 0}, {0, 2, 0, 0}, {0, 0, 2, 0}, {2, 0, 0, 0}};
    const size_t labels[4] = {0, 1, 2, 0};
    float mlp_first = 0.0f, mlp_last = 0.0f;
    for (int step = 0; step < 200; step++) {
        mlp_last = embedded_mlp_train_step(mlp, batch, labels, 0.5f);
        if (step == 0) mlp_first = mlp_last;
    }
    printf("mlp: cross entropy %.6f -> %.6f\n", mlp_first, mlp_last);

    const size_t invalid[4] = {0, 1, 3, 0};
    float rejected = embedded_mlp_train_step(mlp, batch, invalid, 0.5f);
    printf("mlp with class index 3: %f\n", rejected);

    int learned = prediction > 0.9f && mlp_last < 0.1f && isnan(rejected);
    return learned ? 0 : 1;
}
