SELECT model.name AS model, every_concept.name AS concept, count(*) AS n_neurons, sum(CASE WHEN (atlas_value(s0.vals, neuron.unit % ?) > ?) THEN ? ELSE ? END) AS n_matching 
FROM neuron JOIN model ON model.id = neuron.model_id JOIN score_vector AS s0 ON s0.set_id IN (__[POSTCOMPILE_set_id_1]) AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / ? JOIN score_set AS every_set ON every_set.id = s0.set_id JOIN concept AS every_concept ON every_concept.id = every_set.concept_id 
WHERE neuron.model_id IN (__[POSTCOMPILE_model_id_1]) AND neuron.layer >= ? AND neuron.site = ? GROUP BY model.name, every_concept.name ORDER BY model.name, every_concept.name
-- parameters: {'unit_1': 256, 'param_1': 0.800000011920929, 'param_2': 1, 'param_3': 0, 'set_id_1': [172, 173, 174, 175, 176, 177, 178, 179, 180, 226, 227, 228, 229, 230, 231, 232, 233, 234], 'unit_2': 256, 'model_id_1': [3, 2], 'layer_1': 3, 'site_1': 'mlp'}
-- score sets read:
-- ap(*) of minilm: run 5, method row 4 {} (9 concepts)
-- ap(*) of gpt2: run 4, method row 4 {} (9 concepts)
