SELECT model.name AS model, every_concept.name AS concept, count(*) AS n_neurons, count(CASE WHEN (atlas_value(s1.vals, neuron.unit % ?) > ?) THEN atlas_value(s0.vals, neuron.unit % ?) ELSE NULL END) AS n_values 
FROM neuron JOIN model ON model.id = neuron.model_id JOIN score_vector AS s0 ON s0.set_id IN (__[POSTCOMPILE_set_id_1]) AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / ? JOIN score_set AS every_set ON every_set.id = s0.set_id JOIN concept AS every_concept ON every_concept.id = every_set.concept_id LEFT OUTER JOIN score_vector AS s1 ON s1.set_id = ? AND s1.layer_id = neuron.layer_id AND s1.block = neuron.unit / ? 
WHERE neuron.model_id = ? AND neuron.site = ? GROUP BY model.name, every_concept.name ORDER BY model.name, every_concept.name
-- parameters: {'unit_1': 256, 'param_1': 0.30000001192092896, 'unit_2': 256, 'set_id_1': [253, 254, 255, 256, 257, 258, 259, 260, 261], 'unit_3': 256, 'set_id_2': 19, 'unit_4': 256, 'model_id_1': 1, 'site_1': 'resid'}
-- score sets read:
-- iou[alpha=0.01](*) of bert: run 2, method row 7 {"alpha":0.01} (9 concepts)
-- selectivity(negation) of bert: run 2, method row 3 {}
