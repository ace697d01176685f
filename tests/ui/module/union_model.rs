use autograd::Module;

#[derive(Module)]
union Net {
    a: f32,
    b: f64,
}

fn main() {}
