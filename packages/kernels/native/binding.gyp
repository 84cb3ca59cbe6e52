{
  "targets": [
    {
      "target_name": "rlhf_kernels",
      "sources": [
        "src/addon.cc",
        "src/gemm.cc",
        "src/elementwise.cc",
        "src/reduce.cc",
        "src/softmax.cc",
        "src/layout.cc",
        "src/gather.cc",
        "src/fused.cc"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-math-errno", "-fno-trapping-math", "-Wall", "-Wno-unused-function"],
      "libraries": ["-lopenblas"]
    }
  ]
}
