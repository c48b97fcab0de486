# Models written by `rlae pretrain` load in Hugging Face transformers (included by
# tests/CMakeLists.txt).
#
#   pretrain_fixture_write   C++: a short pretraining run on a generated suite with a
#                            character-level tokenizer (rlae_unit Pretrain.FixtureForHf), plus
#                            rlae's own logits (CausalLM::load) on three dev examples; the test
#                            itself asserts that the loss fell, that the directory reloads with
#                            the final checkpoint's weights and that the logits file reads back
#   pretrain_loads_in_hf     Python: transformers 4.46 loads the directory (config.json,
#                            model.safetensors, generation_config.json) and reproduces those
#                            logits to 1e-4; `tokenizers` loads the copied tokenizer.json and
#                            encodes the texts to the same ids
#
# Run just these:  ctest --test-dir <build> -R pretrain --output-on-failure
set(RLAE_PRETRAIN_FIXTURE_DIR ${CMAKE_CURRENT_BINARY_DIR}/pretrain_fixture)

add_test(NAME pretrain_fixture_write
         COMMAND ${CMAKE_COMMAND} -E env RLAE_PRETRAIN_FIXTURE=${RLAE_PRETRAIN_FIXTURE_DIR}
                 $<TARGET_FILE:rlae_unit> --gtest_filter=Pretrain.FixtureForHf)
set_tests_properties(pretrain_fixture_write PROPERTIES
  FIXTURES_SETUP rlae_pretrain_fixture TIMEOUT 300 LABELS parity
  ENVIRONMENT "OMP_NUM_THREADS=1")

add_test(NAME pretrain_loads_in_hf
         COMMAND ${RLAE_PARITY_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/check_pretrained_in_hf.py
                 ${RLAE_PRETRAIN_FIXTURE_DIR})
set_tests_properties(pretrain_loads_in_hf PROPERTIES
  FIXTURES_REQUIRED rlae_pretrain_fixture TIMEOUT 300 LABELS parity
  ENVIRONMENT "OMP_NUM_THREADS=1")
