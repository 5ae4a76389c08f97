SELECT model.name AS model, every_concept.name AS concept, count(*) AS n_neurons, sum(CASE WHEN (atlas_value(s0.vals, neuron.unit % ?) > ?) THEN ? ELSE ? END) AS n_matching 
FROM neuron JOIN model ON model.id = neuron.model_id JOIN score_vector AS s0 ON s0.set_id IN (__[POSTCOMPILE_set_id_1]) AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / ? JOIN score_set AS every_set ON every_set.id = s0.set_id JOIN concept AS every_concept ON every_concept.id = every_set.concept_id 
WHERE neuron.model_id = ? AND neuron.site = ? GROUP BY model.name, every_concept.name ORDER BY model.name, every_concept.name
-- parameters: {'unit_1': 256, 'param_1': 0.30000001192092896, 'param_2': 1, 'param_3': 0, 'set_id_1': [406, 407, 408, 409, 410, 411, 412, 413, 414], 'unit_2': 256, 'model_id_1': 3, 'site_1': 'mlp'}
-- score sets read:
-- ablation(*) of minilm: run 5, method row 12 {"batch_sentences":16,"probe_sentences":300,"seed":0,"sentences":64,"value":"zero"} (9 concepts)
