# Model parity with Hugging Face transformers (included by tests/CMakeLists.txt).
#
#   model_parity_fixtures      Python: tiny random Llama/Qwen2/Mistral models in the HF layout
#                              and transformers' logits over a mixed-length batch + 16 steps
#   model_parity               C++: rlae::CausalLM reproduces them (1e-4, float32)
#   model_writer_for_hf        C++: rlae writes models with its own safetensors writer
#   model_written_loads_in_hf  Python: transformers loads them and computes rlae's logits
#
# Run just these:  ctest --test-dir <build> -L parity -R model --output-on-failure
set(RLAE_MODEL_FIXTURES_DIR ${CMAKE_CURRENT_BINARY_DIR}/model_fixtures)
set(RLAE_MODEL_WRITTEN_DIR ${CMAKE_CURRENT_BINARY_DIR}/model_written)

add_test(NAME model_parity_fixtures
         COMMAND ${RLAE_PARITY_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/make_model_fixtures.py
                 ${RLAE_MODEL_FIXTURES_DIR})
set_tests_properties(model_parity_fixtures PROPERTIES
  FIXTURES_SETUP rlae_model_fixtures TIMEOUT 300 LABELS parity
  ENVIRONMENT "OMP_NUM_THREADS=1")

add_executable(rlae_model_parity ${CMAKE_CURRENT_LIST_DIR}/test_model_parity.cpp)
target_link_libraries(rlae_model_parity PRIVATE rlae_actors GTest::gtest_main rlae_warnings)
add_test(NAME model_parity COMMAND rlae_model_parity)
set_tests_properties(model_parity PROPERTIES
  FIXTURES_REQUIRED rlae_model_fixtures TIMEOUT 300 LABELS parity
  ENVIRONMENT "RLAE_MODEL_FIXTURES=${RLAE_MODEL_FIXTURES_DIR};OMP_NUM_THREADS=1")

add_executable(rlae_model_writer ${CMAKE_CURRENT_LIST_DIR}/write_model_for_hf.cpp)
target_link_libraries(rlae_model_writer PRIVATE rlae_actors rlae_warnings)
add_test(NAME model_writer_for_hf COMMAND rlae_model_writer ${RLAE_MODEL_WRITTEN_DIR})
set_tests_properties(model_writer_for_hf PROPERTIES
  FIXTURES_SETUP rlae_model_written TIMEOUT 300 LABELS parity
  ENVIRONMENT "OMP_NUM_THREADS=1")

add_test(NAME model_written_loads_in_hf
         COMMAND ${RLAE_PARITY_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/compare_written_models.py
                 ${RLAE_MODEL_WRITTEN_DIR})
set_tests_properties(model_written_loads_in_hf PROPERTIES
  FIXTURES_REQUIRED rlae_model_written TIMEOUT 300 LABELS parity
  ENVIRONMENT "OMP_NUM_THREADS=1")
