//! Expansion snapshots: the generated code of small functions, compared
//! with committed files that were read and reviewed as code a person would
//! write. Set `UPDATE_EXPANSION=1` to rewrite them after a deliberate change.

use quote::quote;

fn pretty(tokens: proc_macro2::TokenStream) -> String {
    let file: syn::File = syn::parse2(tokens).expect("the expansion parses as items");
    prettyplease::unparse(&file)
}

fn check_snapshot(name: &str, attr: proc_macro2::TokenStream, item: proc_macro2::TokenStream) {
    let expanded = pretty(super::expand(attr, item).expect("the function expands"));
    let path = format!("{}/src/differentiable/snapshots/{name}.rs", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_EXPANSION").is_some() {
        std::fs::write(&path, &expanded).expect("the snapshot is writable");
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(expanded, expected, "the expansion of `{name}` changed; see {path}");
}

#[test]
fn neuron_loss_expansion() {
    check_snapshot(
        "neuron_loss",
        quote!(),
        quote! {
            fn loss(w: &Tensor<Rank1<U5>>, b: &Tensor<Rank0>, x: &Tensor<Rank1<U5>>, #[no_grad] y: &Tensor<Rank0>) -> Tensor<Rank0> {
                let z = (w * x).sum() + b;
                let error = z.sigmoid() - y;
                &error * &error
            }
        },
    );
}

#[test]
fn model_method_with_branch_expansion() {
    check_snapshot(
        "model_method_with_branch",
        quote!(),
        quote! {
            fn forward(&self, x: &Tensor<Rank1<U3>>, residual: bool) -> Tensor<Rank1<U3>> {
                let h = self.layer.forward(x).relu();
                if residual { h + x } else { h }
            }
        },
    );
}

#[test]
fn loop_expansion() {
    check_snapshot(
        "loop",
        quote!(),
        quote! {
            fn power(x: &Tensor<Rank1<U3>>, n: usize) -> Tensor<Rank1<U3>> {
                let mut h = x.clone();
                for _ in 1..n {
                    h = h * x;
                }
                h
            }
        },
    );
}

#[test]
fn neuron_method_expansion() {
    check_snapshot(
        "neuron_method",
        quote!(),
        quote! {
            fn loss(&self, #[no_grad] x: &Tensor<Rank1<U5>, f32, D>, #[no_grad] label: &Tensor<Rank0, f32, D>) -> Tensor<Rank0, f32, D> {
                let z = self.weight.dot(x) + &*self.bias;
                let prediction = z.sigmoid();
                mse_loss(&prediction, label)
            }
        },
    );
}
