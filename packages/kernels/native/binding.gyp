{
  "targets": [
    {
      "target_name": "rlhf_kernels",
      "sources": [
        "addon.cc",
        "gemm.cc",
        "elementwise.cc",
        "reduce.cc",
        "softmax.cc",
        "layout.cc",
        "gather.cc",
        "fused.cc",
        "decode.cc"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-math-errno", "-fno-trapping-math", "-Wall", "-Wno-unused-function"],
      "libraries": ["-lopenblas"]
    }
  ]
}
